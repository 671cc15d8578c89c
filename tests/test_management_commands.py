"""The quickstart commands: createorg, createapikey, createsession, connectsession, seeddemo."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from auth_app.models import ApiKey, Organization
from sessions_app import routing
from sessions_app.models import SessionStatus, WhatsAppSession
from tests.factories import OrganizationFactory, WhatsAppSessionFactory

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def manage(*args: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it, in its own process."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.django_db
class TestCreateOrg:
    def test_creates_and_prints_the_slug(self):
        out, _ = run("createorg", "acme", "--name", "Acme Inc", "--external-id", "org_123")
        assert out.strip() == "acme"
        organization = Organization.objects.get(slug="acme")
        assert (organization.name, organization.external_id) == ("Acme Inc", "org_123")

    def test_duplicate_slug_is_a_one_line_error(self):
        OrganizationFactory(slug="acme")
        with pytest.raises(CommandError, match="already exists"):
            run("createorg", "acme")

    def test_bad_slug(self):
        with pytest.raises(CommandError, match="slug"):
            run("createorg", "Not A Slug")


@pytest.mark.django_db
class TestCreateApiKey:
    def test_prints_the_key_once_on_its_own_last_line_and_it_works(self):
        organization = OrganizationFactory(slug="acme")
        session = WhatsAppSessionFactory(organization=organization)

        out, err = run(
            "createapikey",
            "--org",
            "acme",
            "--capabilities",
            "read,send",
            "--name",
            "ci",
            "--expires-in-days",
            "30",
        )

        token = out.strip().splitlines()[-1]
        assert token.startswith("wag_")
        assert token not in err
        api_key = ApiKey.objects.get()
        assert api_key.name == "ci"
        assert api_key.capabilities == {"read", "send"}
        assert api_key.expires_at is not None
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(f"/api/v1/sessions/{session.id}/groups").status_code == 200

    def test_unknown_organization(self):
        with pytest.raises(CommandError, match="organization 'nope' not found"):
            run("createapikey", "--org", "nope", "--capabilities", "read")

    def test_unknown_capability(self):
        OrganizationFactory(slug="acme")
        with pytest.raises(CommandError, match="unknown capability 'admin'"):
            run("createapikey", "--org", "acme", "--capabilities", "read,admin")
        assert not ApiKey.objects.exists()

    def test_no_capability(self):
        OrganizationFactory(slug="acme")
        with pytest.raises(CommandError, match="capabilities"):
            run("createapikey", "--org", "acme", "--capabilities", ",")

    def test_non_positive_expiry(self):
        OrganizationFactory(slug="acme")
        with pytest.raises(CommandError, match="expires-in-days"):
            run("createapikey", "--org", "acme", "--capabilities", "read", "--expires-in-days", "0")


@pytest.mark.django_db
class TestSessions:
    def test_createsession_prints_the_id(self):
        OrganizationFactory(slug="acme")
        out, _ = run("createsession", "--org", "acme", "--engine", "sandbox", "--name", "Sales")
        session = WhatsAppSession.objects.get(pk=out.strip())
        assert (session.engine, session.name, session.status) == ("sandbox", "Sales", "new")

    def test_createsession_unknown_org(self):
        with pytest.raises(CommandError, match="not found"):
            run("createsession", "--org", "nope", "--engine", "sandbox")

    def test_connectsession_connects_a_sandbox_session(self):
        session = WhatsAppSessionFactory(fresh=True)
        out, _ = run("connectsession", session.id)
        session.refresh_from_db()
        assert session.status == SessionStatus.CONNECTED
        assert session.jid in out

    def test_connectsession_unknown_id(self):
        with pytest.raises(CommandError, match="not found"):
            run("connectsession", "01HZ0SESSION0000000000000Z")

    def test_connectsession_whatsapp_without_runner(self):
        session = WhatsAppSessionFactory(fresh=True, engine="whatsapp")
        with pytest.raises(CommandError, match="runner"):
            run("connectsession", session.id)


@pytest.mark.django_db
class TestSeedDemo:
    def test_seeds_once(self):
        out, _ = run("seeddemo")
        token = next(line.split("=", 1)[1] for line in out.splitlines() if "export TOKEN=" in line)
        session = WhatsAppSession.objects.get()
        assert session.desired_connected is True
        assert session.status == SessionStatus.CONNECTING
        routing.in_process_supervisor().reconcile()  # what the runner does within seconds
        session.refresh_from_db()
        assert session.status == SessionStatus.CONNECTED
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(
            f"/api/v1/sessions/{session.id}/groups",
            {"name": "Team", "participants": ["15551234567@s.whatsapp.net"]},
            format="json",
        )
        assert response.status_code == 201

        again, _ = run("seeddemo")
        assert "already seeded" in again
        assert "wag_" not in again
        assert ApiKey.objects.count() == 1 and WhatsAppSession.objects.count() == 1


class TestExitCodes:
    """Run as an operator would: a one-line error and a non-zero exit, never a traceback."""

    def test_bad_capability_is_bad_usage_exit_2_with_one_line(self):
        result = manage("createapikey", "--org", "acme", "--capabilities", "everything")
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert "unknown capability" in result.stderr

    def test_missing_argument_exits_2(self):
        result = manage("createsession", "--engine", "sandbox")
        assert result.returncode == 2
        assert "--org" in result.stderr
        assert "Traceback" not in result.stderr

    def test_unknown_engine_exits_2(self):
        result = manage("createsession", "--org", "acme", "--engine", "telegram")
        assert result.returncode == 2
        assert "Traceback" not in result.stderr


def test_a_command_without_configuration_says_so_in_one_line(tmp_path):
    """No SECRET_KEY and no DEBUG: one line on stderr and exit status 2, no traceback."""
    import os
    import sys

    from tests.processes import run_here

    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(DJANGO_SETTINGS_MODULE="gateway.settings", GATEWAY_DATA_DIR=str(tmp_path))
    done = run_here([sys.executable, "manage.py", "listsessions"], env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=1 "
        "for local development only."
    ]
    assert "Traceback" not in done.stderr + done.stdout

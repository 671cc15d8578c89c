"""Every ops command: --json output parsed, listing/revoking, and exit codes."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from auth_app.capabilities import Capability
from auth_app.models import ApiKey
from auth_app.services import api_key_issue, api_key_revoke
from sessions_app.models import SessionStatus
from tests.factories import OrganizationFactory, WhatsAppSessionFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


@pytest.mark.django_db
class TestJson:
    def test_createorg(self):
        data = run_json("createorg", "acme", "--external-id", "org_1")
        assert (data["slug"], data["externalId"]) == ("acme", "org_1")

    def test_createapikey_includes_the_key_once(self):
        OrganizationFactory(slug="acme")
        data = run_json("createapikey", "--org", "acme", "--capabilities", "read,manage")
        assert data["key"].startswith("wag_")
        assert data["capabilities"] == ["read", "manage"]
        assert data["state"] == "active"
        assert ApiKey.objects.get().pk == data["id"]

    def test_createsession_and_listsessions(self):
        OrganizationFactory(slug="acme")
        created = run_json("createsession", "--org", "acme", "--engine", "sandbox")
        assert created["status"] == "new"
        listed = run_json("listsessions", "--org", "acme")
        assert [s["id"] for s in listed] == [created["id"]]

    def test_connectsession_json_is_the_final_state(self):
        session = WhatsAppSessionFactory(fresh=True)
        data = run_json("connectsession", session.id, "--timeout", "5")
        assert data["status"] == "connected" and data["jid"].startswith("1555099")

    def test_logoutsession_json(self):
        session = WhatsAppSessionFactory()
        assert run_json("logoutsession", session.id)["status"] == "logged_out"

    def test_syncgroups_json(self):
        session = WhatsAppSessionFactory()
        assert run_json("syncgroups", session.id) == [
            {"session": session.id, "ok": True, "synced": 0, "removed": 0}
        ]


@pytest.mark.django_db
class TestListAndRevokeKeys:
    def test_listapikeys_never_shows_keys(self):
        acme = OrganizationFactory(slug="acme")
        issued = api_key_issue(
            organization=acme, capabilities=frozenset({Capability.READ}), name="ci"
        )
        revoked = api_key_issue(organization=acme, capabilities=frozenset({Capability.SEND}))
        api_key_revoke(api_key=revoked.api_key)
        text = run("listapikeys")
        assert issued.token not in text and issued.api_key.secret_hash not in text
        assert issued.api_key.display in text and "revoked" in text
        active = run_json("listapikeys", "--active")
        assert [row["name"] for row in active] == ["ci"]

    def test_revoke_by_prefix_and_by_id(self):
        acme = OrganizationFactory(slug="acme")
        first = api_key_issue(organization=acme, capabilities=frozenset({Capability.READ}))
        second = api_key_issue(organization=acme, capabilities=frozenset({Capability.READ}))
        assert "revoked" in run("revokeapikey", first.api_key.display)
        assert run_json("revokeapikey", str(second.api_key.pk))["state"] == "revoked"
        assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0

    def test_revoke_unknown(self):
        with pytest.raises(CommandError, match="no API key"):
            run("revokeapikey", "wag_doesnotexist_")


@pytest.mark.django_db
class TestListSessions:
    def test_table_and_status_filter(self):
        WhatsAppSessionFactory(name="Up")
        WhatsAppSessionFactory(name="Down", disconnected=True, status_reason="no route")
        text = run("listsessions")
        assert text.splitlines()[0].split() == [
            "ID",
            "ORGANIZATION",
            "NAME",
            "ENGINE",
            "STATUS",
            "JID",
            "REASON",
        ]
        assert "Up" in text and "no route" in text
        down = run_json("listsessions", "--status", SessionStatus.DISCONNECTED)
        assert [s["name"] for s in down] == ["Down"]


@pytest.mark.django_db
class TestUsageErrorsExit2:
    @pytest.mark.parametrize(
        "args",
        [
            ["createapikey", "--org", "acme", "--capabilities", "admin"],
            ["createapikey", "--org", "acme", "--capabilities", "read", "--expires-in-days", "0"],
            ["connectsession", "01HZ0SESSION0000000000000Z", "--phone", "+1"],
        ],
    )
    def test_returncode_2(self, args):
        OrganizationFactory(slug="acme")
        with pytest.raises(CommandError) as raised:
            run(*args)
        assert raised.value.returncode == 2

    def test_failures_are_1(self):
        with pytest.raises(CommandError) as raised:
            run("createsession", "--org", "nope", "--engine", "sandbox")
        assert raised.value.returncode == 1


@pytest.mark.parametrize(
    "command",
    [
        "createorg",
        "createapikey",
        "listapikeys",
        "revokeapikey",
        "createsession",
        "listsessions",
        "connectsession",
        "logoutsession",
        "syncgroups",
        "runsessions",
        "minttoken",
        "seeddemo",
    ],
)
def test_every_command_has_help(command):
    from django.core.management import load_command_class

    app = {
        "createorg": "auth_app",
        "createapikey": "auth_app",
        "listapikeys": "auth_app",
        "revokeapikey": "auth_app",
        "minttoken": "auth_app",
        "syncgroups": "groups_app",
    }.get(command, "sessions_app")
    parser = load_command_class(app, command).create_parser("manage.py", command)
    assert len(parser.description or "") > 20

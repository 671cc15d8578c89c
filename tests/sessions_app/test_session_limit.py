"""GATEWAY_MAX_SESSIONS_PER_ORG: an organization cannot attach numbers without bound."""

import pytest

from sessions_app.models import WhatsAppSession
from tests.helpers import assert_error


def create(client):
    return client.post("/api/v1/sessions", {"name": "n", "engine": "sandbox"}, format="json")


@pytest.mark.django_db
def test_the_limit_is_409_session_limit_and_per_organization(api, client_for, other_org, settings):
    settings.GATEWAY_MAX_SESSIONS_PER_ORG = 2
    assert create(api).status_code == 201
    assert create(api).status_code == 201
    error = assert_error(create(api), 409, "conflict")
    assert error["details"]["reason"] == "session_limit"
    assert error["details"]["limit"] == 2
    assert WhatsAppSession.objects.filter(organization__slug="acme").count() == 2
    # Another organization has its own allowance.
    assert create(client_for(other_org)).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_without_the_setting_an_organization_holds_fifty(org):
    """The default, as a process started without GATEWAY_MAX_SESSIONS_PER_ORG has it: the
    fiftieth session is created, the fifty-first refused."""
    import sys

    from tests.processes import process_env, run_here

    env = process_env()
    env.pop("GATEWAY_MAX_SESSIONS_PER_ORG", None)
    script = (
        "import django; django.setup()\n"
        "from auth_app.models import Organization\n"
        "from gateway.exceptions import Conflict\n"
        "from sessions_app.services import session_create\n"
        "org = Organization.objects.get(slug='acme')\n"
        "made = 0\n"
        "try:\n"
        "    for _ in range(51):\n"
        "        session_create(organization=org, engine='sandbox')\n"
        "        made += 1\n"
        "except Conflict as refused:\n"
        "    print(made, refused.details['limit'])\n"
    )
    done = run_here([sys.executable, "-c", script], env=env, check=True)
    assert done.stdout.split() == ["50", "50"], done.stderr[-2000:]
    assert WhatsAppSession.objects.filter(organization=org).count() == 50


@pytest.mark.django_db
def test_deleting_a_session_frees_a_place(api, settings):
    settings.GATEWAY_MAX_SESSIONS_PER_ORG = 1
    first = create(api).json()["id"]
    assert_error(create(api), 409, "conflict")
    assert api.delete(f"/api/v1/sessions/{first}").status_code == 204
    assert create(api).status_code == 201


@pytest.mark.django_db
def test_a_session_without_a_name_gets_a_readable_one(api):
    first = api.post("/api/v1/sessions", {"engine": "sandbox"}, format="json").json()
    second = api.post("/api/v1/sessions", {"engine": "whatsapp", "name": " "}, format="json").json()
    assert (first["name"], second["name"]) == ("Sandbox 1", "WhatsApp 2")


@pytest.mark.django_db
def test_messages_say_what_is_true(api, org, capsys):
    from django.core.management import call_command

    from auth_app.capabilities import parse_capabilities
    from auth_app.services import api_key_issue
    from tests.factories import WhatsAppSessionFactory
    from tests.helpers import assert_error

    connected = WhatsAppSessionFactory(organization=org)
    response = api.post(
        f"/api/v1/sessions/{connected.id}/pair-code", {"phone": "15551234567"}, format="json"
    )
    assert "already connected" in assert_error(response, 409, "conflict")["message"]

    issued = api_key_issue(organization=org, capabilities=parse_capabilities("read"))
    call_command("revokeapikey", str(issued.api_key.pk))
    call_command("revokeapikey", str(issued.api_key.pk))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("revoked ") and lines[1].startswith("already revoked ")

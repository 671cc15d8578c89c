"""Fuzzing every operation against the live OpenAPI schema (schemathesis).

Valid credentials (an owner key) and a connected sandbox session, so generated requests
reach real code, not only the 401/404 guards. Each case is checked by schemathesis: no
5xx, status codes and bodies as the schema documents them, negative data rejected with
a 4xx. The number of cases run is printed.
"""

import uuid

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.services import api_key_issue, organization_create
from sessions_app.models import SessionStatus, WhatsAppSession

EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def world(db, settings):
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    organization = organization_create(slug="fuzz", external_id="org_fuzz")
    token = api_key_issue(organization=organization, capabilities=ALL_CAPABILITIES).token
    session = WhatsAppSession.objects.create(
        organization=organization,
        engine="sandbox",
        name="fuzz",
        status=SessionStatus.CONNECTED,
        desired_connected=True,
        jid="15550990001@s.whatsapp.net",
    )
    return token, session


def network_decides(case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return "cursor" in (case.query or {}) or "url" in body


def operations():
    document = Client().get("/api/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.django_db(transaction=True)
def test_every_operation(world, live_server, capsys):
    """Over real HTTP against a live server thread."""
    token, session = world
    headers = {"Authorization": f"Bearer {token}"}
    ran: dict[str, int] = {}

    def fuzz(operation) -> None:
        label = operation.label
        ran[label] = 0

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case) -> None:
            if "session" in (case.path_parameters or {}) and ran[label] % 4:
                case.path_parameters["session"] = session.id  # mostly the real session
            if case.headers and "Idempotency-Key" in case.headers:
                # Keys are per request: a key shared by two different generated requests
                # is rightly 422, which is not what this test is about.
                case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
            ran[label] += 1
            case.call_and_validate(
                base_url=live_server.url,
                headers=headers,
                # A cursor is opaque: the schema can only call it a string, and a string that
                # is not one of ours is rightly a 400. A webhook URL is accepted only when it
                # resolves to a public address: the network decides, not the schema.
                excluded_checks=[positive_data_acceptance] if network_decides(case) else [],
            )

        check()

    for operation in operations():
        fuzz(operation)
    total = sum(ran.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(ran)} operations")
    assert len(ran) == 37  # every operation of the schema (it grows with the API)
    assert all(count > 0 for count in ran.values())

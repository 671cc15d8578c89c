"""Concurrency on PostgreSQL: parallel creations and a sync racing them."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from groups_app.models import Group
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is exercised on PostgreSQL (DATABASE_URL=postgres://…)")
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    # The races here are the database's: one organization's share of the gateway (its
    # cap on live calls in flight, tests/sessions_app/test_live_limits.py) is lifted.
    settings.GATEWAY_LIVE_CALLS_PER_ORGANIZATION = 0


def in_thread(token: str, call):
    def run(*args):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            return call(client, *args)
        finally:
            connections.close_all()

    return run


def test_fifty_parallel_creations_make_fifty_groups(org, issue_token):
    session = WhatsAppSessionFactory(organization=org)
    url = f"/api/v1/sessions/{session.id}/groups"
    create = in_thread(
        issue_token(org, "send,read"),
        lambda client, n: client.post(
            url,
            {"name": f"Group {n}", "participants": ["15551234567@s.whatsapp.net"]},
            format="json",
        ),
    )
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(create, range(50)))

    assert [r.status_code for r in responses] == [201] * 50
    jids = {r.json()["groupJid"] for r in responses}
    assert len(jids) == 50
    assert Group.objects.filter(session=session).count() == 50
    assert set(Group.objects.values_list("jid", flat=True)) == jids


def test_a_sync_racing_creations_stores_no_duplicates_and_loses_nothing(org, issue_token):
    session = WhatsAppSessionFactory(organization=org)
    token = issue_token(org, "send,read")
    url = f"/api/v1/sessions/{session.id}/groups"
    create = in_thread(
        token,
        lambda client, n: client.post(
            url,
            {"name": f"G{n}", "participants": ["15551234567@s.whatsapp.net"]},
            format="json",
        ),
    )
    sync = in_thread(token, lambda client, n: client.post(f"{url}/sync"))

    def work(n: int):
        return sync(n) if n % 6 == 0 else create(n)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(work, range(36)))

    created = [r for n, r in enumerate(responses) if n % 6]
    assert [r.status_code for r in responses] == [200 if n % 6 == 0 else 201 for n in range(36)]
    stored = list(Group.objects.filter(session=session).values_list("jid", flat=True))
    assert len(stored) == len(set(stored)) == len(created) == 30
    assert set(stored) == {r.json()["groupJid"] for r in created}

"""Lease operations on whichever database the suite runs (PostgreSQL or SQLite)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from sessions_app import leases
from sessions_app.models import SessionLease
from tests.factories import WhatsAppSessionFactory


@pytest.fixture
def wanted(db):
    return [WhatsAppSessionFactory(fresh=True, desired_connected=True) for _ in range(4)]


def test_claims_are_exclusive_and_bounded(wanted):
    first = leases.claim(runner_id="a", url="http://a", lease_seconds=30, limit=3)
    second = leases.claim(runner_id="b", url="http://b", lease_seconds=30, limit=10)
    assert len(first) == 3 and len(second) == 1
    assert not set(first) & set(second)
    assert leases.claim(runner_id="c", url="http://c", lease_seconds=30, limit=10) == {}
    unwanted = WhatsAppSessionFactory(fresh=True, desired_connected=False)
    assert unwanted.id not in {*first, *second}


def test_an_expired_lease_is_taken_over_with_a_higher_token(wanted):
    (session_id, token), *_ = leases.claim(
        runner_id="a", url="http://a", lease_seconds=30, limit=1
    ).items()
    SessionLease.objects.filter(session_id=session_id).update(expires_at=leases.db_now())
    taken = leases.claim(runner_id="b", url="http://b", lease_seconds=30, limit=10, only=session_id)
    assert taken == {session_id: token + 1}
    # The old holder can no longer renew it; the new one can.
    assert leases.renew(runner_id="a", held={session_id: token}, lease_seconds=30) == set()
    assert leases.renew(runner_id="b", held={session_id: token + 1}, lease_seconds=30) == {
        session_id
    }
    assert leases.holder_of(session_id).url == "http://b"


def test_release_frees_at_once(wanted):
    held = leases.claim(runner_id="a", url="http://a", lease_seconds=30, limit=10)
    leases.release(runner_id="a", held=held)
    assert all(leases.holder_of(session_id) is None for session_id in held)
    assert len(leases.claim(runner_id="b", url="http://b", lease_seconds=30, limit=10)) == 4


def test_listsessions_json_names_the_holder(wanted):
    held = leases.claim(runner_id="runner-7", url="http://r7", lease_seconds=30, limit=1)
    out = StringIO()
    call_command("listsessions", "--json", stdout=out)
    rows = {row["id"]: row for row in json.loads(out.getvalue())}
    (held_id,) = held
    assert rows[held_id]["runner"] == "runner-7"
    assert rows[held_id]["leaseExpiresAt"].startswith(str(leases.db_now().year))
    others = [row for session_id, row in rows.items() if session_id != held_id]
    assert others and all(row["runner"] is None and row["leaseExpiresAt"] is None for row in others)


def test_the_admin_shows_the_holder_and_the_runners(wanted, admin_client):
    held = leases.claim(runner_id="runner-9", url="http://r9", lease_seconds=30, limit=1)
    leases.heartbeat(
        runner_id="runner-9", url="http://r9", capacity=500, load=1, started_at=leases.db_now()
    )
    (held_id,) = held
    page = admin_client.get(f"/admin/sessions_app/whatsappsession/{held_id}/change/")
    assert "runner-9 (until" in page.content.decode()
    dashboard = admin_client.get("/admin/").content.decode()
    assert "Session runners" in dashboard and "http://r9" in dashboard

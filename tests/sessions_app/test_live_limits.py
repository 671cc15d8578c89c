"""One organization's share of the gateway (``sessions_app.live_limits``): a cap on live
calls in flight and a budget of participants named by live calls, per organization; and
per-participant work done in bulk, so that a maximal call costs what a small one does in
queries."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups_app.models import Group, GroupParticipant
from sessions_app.live_limits import live_call_slot, prune_expired_slots
from sessions_app.models import ActionState, LiveActionRecord, LiveCallSlot
from tests.factories import OrganizationFactory, WhatsAppSessionFactory
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"
CAROL = "15551230003@s.whatsapp.net"


def create(api, session, people, **headers):
    return api.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Team", "participants": people},
        format="json",
        **headers,
    )


def add(api, session, jid, people):
    return api.post(
        f"/api/v1/sessions/{session.id}/groups/{jid}/participants",
        {"action": "add", "participants": people},
        format="json",
    )


def people(count: int, start: int = 100) -> list[str]:
    return [f"1555{start + index:07d}@s.whatsapp.net" for index in range(count)]


@pytest.mark.django_db
class TestParticipantBudget:
    @pytest.fixture(autouse=True)
    def _budget(self, settings):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "participants": "5/minute"}

    def test_participants_are_counted_per_organization_not_calls(self, api, session, client_for):
        jid = create(api, session, [ALICE, BOB, CAROL]).json()["groupJid"]  # 3 of 5
        before = set(GroupParticipant.objects.values_list("jid", flat=True))
        refused = add(api, session, jid, people(3))  # 6 > 5
        error = assert_error(refused, 429, "rate_limited")
        assert error["details"]["budget"] == "participants"
        assert 1 <= int(refused["Retry-After"]) <= 61
        # Nothing happened, and the refused call cost nothing: 2 more still fit.
        assert set(GroupParticipant.objects.values_list("jid", flat=True)) == before
        assert add(api, session, jid, people(2)).status_code == 200
        assert_error(add(api, session, jid, people(1, start=900)), 429, "rate_limited")
        # Another organization has a budget of its own.
        other = OrganizationFactory()
        theirs = WhatsAppSessionFactory(organization=other)
        assert create(client_for(other), theirs, [ALICE, BOB, CAROL]).status_code == 201

    def test_a_call_over_the_whole_budget_fits_an_empty_window(self, api, session):
        assert create(api, session, people(8)).status_code == 201
        assert_error(create(api, session, [ALICE]), 429, "rate_limited")

    def test_a_refused_call_releases_its_idempotency_key(self, api, session, settings):
        assert create(api, session, people(5)).status_code == 201
        refused = create(api, session, [ALICE], HTTP_IDEMPOTENCY_KEY="k-1")
        assert_error(refused, 429, "rate_limited")
        record = LiveActionRecord.objects.get(status_code=429)
        assert record.state == ActionState.FAILED and record.idempotency_key is None
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "participants": "off"}
        retried = create(api, session, [ALICE], HTTP_IDEMPOTENCY_KEY="k-1")
        assert retried.status_code == 201  # ran afresh, not a replay of the 429
        assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db
class TestConcurrentLiveCalls:
    @pytest.fixture(autouse=True)
    def _cap(self, settings):
        settings.GATEWAY_LIVE_CALLS_PER_ORGANIZATION = 2

    def test_beyond_the_cap_is_429_and_other_organizations_are_not_held(
        self, api, session, org, client_for
    ):
        with live_call_slot(organization_id=org.pk), live_call_slot(organization_id=org.pk):
            # Two calls of this organization in flight (as two web threads would hold).
            error = assert_error(create(api, session, [ALICE]), 429, "rate_limited")
            assert error["details"]["budget"] == "concurrent_live_calls"
            assert not Group.objects.exists()
            other = OrganizationFactory()
            theirs = WhatsAppSessionFactory(organization=other)
            assert create(client_for(other), theirs, [ALICE]).status_code == 201
        assert LiveCallSlot.objects.count() == 0  # every slot given back
        assert create(api, session, [ALICE]).status_code == 201

    def test_a_slot_left_by_a_dead_process_expires(self, api, session, org):
        past = timezone.now() - timedelta(seconds=1)
        LiveCallSlot.objects.bulk_create(
            [LiveCallSlot(organization=org, expires_at=past) for _ in range(2)]
        )
        assert create(api, session, [ALICE]).status_code == 201
        assert prune_expired_slots() == 2

    def test_a_failed_call_gives_its_slot_back(self, api, session):
        assert_error(create(api, session, []), 400, "validation_error")
        assert LiveCallSlot.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_racing_callers_never_hold_more_than_the_cap(settings):
    """Twelve threads, each with its own database connection, take and hold slots of one
    organization as fast as they can; at no moment are more than three held."""
    settings.GATEWAY_LIVE_CALLS_PER_ORGANIZATION = 3
    org = OrganizationFactory()
    holding = 0
    most = 0
    refused = 0
    lock = threading.Lock()
    release = threading.Event()

    def caller() -> None:
        nonlocal holding, most, refused
        from django.db import connections

        try:
            for _ in range(5):
                try:
                    with live_call_slot(organization_id=org.pk):
                        with lock:
                            holding += 1
                            most = max(most, holding)
                        release.wait(0.05)
                        with lock:
                            holding -= 1
                except Exception as exc:
                    assert getattr(exc, "code", "") == "rate_limited", exc
                    with lock:
                        refused += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert most == 3
    assert refused > 0
    assert LiveCallSlot.objects.count() == 0


@pytest.mark.django_db
def test_adding_many_participants_costs_the_queries_of_adding_two(api, session, settings):
    settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "participants": "off"}
    jid = create(api, session, [ALICE]).json()["groupJid"]
    assert add(api, session, jid, people(2, start=10)).status_code == 200  # warm up
    counts = {}
    for action in ("add", "promote", "demote", "remove"):
        for size, start in ((2, 20), (600, 1000)):
            group_people = people(size, start=start)
            with CaptureQueriesContext(connection) as queries:
                answer = api.post(
                    f"/api/v1/sessions/{session.id}/groups/{jid}/participants",
                    {"action": action, "participants": group_people},
                    format="json",
                )
            assert answer.status_code == 200, answer.content
            counts[(action, size)] = len(queries)
    for action in ("add", "promote", "demote", "remove"):
        # One statement for all of them (SQLite splits a long insert into batches of
        # 999 parameters: a few more; one per participant would be 598 more).
        assert counts[(action, 600)] <= counts[(action, 2)] + 5, counts
    assert not GroupParticipant.objects.filter(jid__in=people(600, start=1000)).exists()

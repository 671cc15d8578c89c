"""The send budget: what reaches people is counted per session, atomically, and refused
whole before anything is sent (sessions_app.send_budget)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messages_app.models import Message
from sessions_app.models import Engine, SendBudgetUse, WhatsAppSession
from sessions_app.send_budget import budget_of
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"


def text(api, session, n=0, **headers):
    return api.post(
        f"/api/v1/sessions/{session.id}/messages",
        {"to": ALICE, "type": "text", "text": f"hello {n}"},
        format="json",
        **headers,
    )


def set_budget(api, session, budget):
    response = api.patch(f"/api/v1/sessions/{session.id}", {"sendBudget": budget}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["sendBudget"]


@pytest.mark.django_db
class TestBudget:
    def test_sandbox_sessions_are_unlimited_unless_set(self, api, session):
        shown = api.get(f"/api/v1/sessions/{session.id}").json()["sendBudget"]
        assert shown == {
            "perMinute": None,
            "perDay": None,
            "usedMinute": 0,
            "usedDay": 0,
            "isDefault": True,
        }
        for n in range(3):
            assert text(api, session, n).status_code == 201
        assert not SendBudgetUse.objects.exists()  # nothing counted: nothing to count against

    def test_whatsapp_sessions_warm_up_for_a_week_then_get_the_default(self, org, settings):
        settings.GATEWAY_SEND_BUDGET_PER_MINUTE, settings.GATEWAY_SEND_BUDGET_PER_DAY = 20, 1000
        fresh = WhatsAppSessionFactory(
            organization=org, engine=Engine.WHATSAPP, paired_at=timezone.now()
        )
        assert (budget_of(fresh).per_minute, budget_of(fresh).per_day) == (5, 250)
        fresh.paired_at = timezone.now() - timedelta(days=8)
        assert (budget_of(fresh).per_minute, budget_of(fresh).per_day) == (20, 1000)

    def test_over_the_budget_the_whole_request_is_refused_and_costs_nothing(self, api, session):
        assert set_budget(api, session, {"perMinute": 2, "perDay": 100})["perMinute"] == 2
        assert text(api, session, 1).status_code == 201
        assert text(api, session, 2).status_code == 201
        refused = text(api, session, 3)
        error = assert_error(refused, 429, "rate_limited")
        assert error["details"]["budget"] == {
            "perMinute": 2,
            "perDay": 100,
            "usedMinute": 2,
            "usedDay": 2,
        }
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert Message.objects.count() == 2
        shown = api.get(f"/api/v1/sessions/{session.id}").json()["sendBudget"]
        assert (shown["usedMinute"], shown["usedDay"], shown["isDefault"]) == (2, 2, False)

    def test_a_replay_costs_nothing_and_a_refusal_by_whatsapp_is_given_back(self, api, session):
        set_budget(api, session, {"perMinute": 10, "perDay": None})
        assert text(api, session, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
        assert text(api, session, HTTP_IDEMPOTENCY_KEY="k")["Idempotent-Replayed"] == "true"
        # A group the sandbox holds (the store) without the account: WhatsApp says no.
        from tests.factories import GroupFactory, GroupParticipantFactory

        group = GroupFactory(session=session)
        GroupParticipantFactory(group=group, jid=session.jid)
        WhatsAppSession.objects.filter(pk=session.pk).update(jid=BOB)  # not it, now
        session.refresh_from_db()
        refused = api.post(
            f"/api/v1/sessions/{session.id}/messages",
            {"to": group.jid, "type": "text", "text": "x"},
            format="json",
        )
        assert_error(refused, 409, "conflict")
        assert api.get(f"/api/v1/sessions/{session.id}").json()["sendBudget"]["usedMinute"] == 1

    def test_creating_a_group_costs_one_and_one_per_participant(self, api, session):
        set_budget(api, session, {"perMinute": 4, "perDay": None})
        groups = f"/api/v1/sessions/{session.id}/groups"
        too_many = {
            "name": "T",
            "participants": [
                ALICE,
                BOB,
                "15551230003@s.whatsapp.net",
                "15551230004@s.whatsapp.net",
            ],
        }
        assert_error(api.post(groups, too_many, format="json"), 429, "rate_limited")
        created = api.post(groups, {"name": "T", "participants": [ALICE, BOB]}, format="json")
        assert created.status_code == 201
        assert api.get(f"/api/v1/sessions/{session.id}").json()["sendBudget"]["usedMinute"] == 3
        add = api.post(
            f"{groups}/{created.json()['groupJid']}/participants",
            {"action": "add", "participants": ["15551230005@s.whatsapp.net", ALICE]},
            format="json",
        )
        assert_error(add, 429, "rate_limited")  # 2 more do not fit in 4

    def test_null_goes_back_to_the_default(self, api, session):
        set_budget(api, session, {"perMinute": 1, "perDay": 1})
        shown = set_budget(api, session, None)
        assert (shown["perMinute"], shown["isDefault"]) == (None, True)

    def test_a_bad_budget_is_400_by_name(self, api, session):
        response = api.patch(
            f"/api/v1/sessions/{session.id}", {"sendBudget": {"perMinute": -1}}, format="json"
        )
        error = assert_error(response, 400, "validation_error")
        assert "sendBudget" in error["details"]


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_sends_against_five_give_exactly_five(org, client_for):
    api = client_for(org)
    session = WhatsAppSessionFactory(organization=org, send_budget_per_minute=5)
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one(n: int) -> None:
        try:
            start.wait()
            status = text(client_for(org), session, n).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] * 5 + [429] * 15, statuses
    assert Message.objects.filter(session=session).count() == 5
    assert SendBudgetUse.objects.get(session=session, span="minute").used == 5
    del api

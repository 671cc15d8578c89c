"""The sandbox engine's documented behaviour, through the runner's supervisor."""

import pytest

from gateway.exceptions import Conflict, RunnerUnavailable
from groups_app.registry import CREATE_GROUP, SYNC_GROUPS, CreateGroup
from groups_app.store import group_store
from sessions_app import jids, routing
from sessions_app.engines.sandbox import account_jid
from sessions_app.models import Engine, SessionStatus
from sessions_app.registry import LOGOUT, PAIR_CODE, Empty, PairCode
from sessions_app.services import session_connect
from tests.factories import GroupFactory, WhatsAppSessionFactory


def test_account_jid_is_stable_per_session_and_in_the_documented_range():
    first = account_jid("01HZ0SESSION0000000000000A")
    assert first == account_jid("01HZ0SESSION0000000000000A")
    assert jids.is_user_jid(first)
    assert jids.user_of(first).startswith("1555099")
    assert len(jids.user_of(first)) == 11


def test_different_sessions_get_different_accounts():
    accounts = {account_jid(f"01HZ0SESSION000000000000{n:02d}") for n in range(30)}
    assert len(accounts) > 25


@pytest.mark.django_db
def test_connecting_a_sandbox_session_succeeds_at_once():
    session = WhatsAppSessionFactory(fresh=True)
    connected = session_connect(session=session)
    assert connected.status == SessionStatus.CONNECTED
    assert connected.desired_connected is True
    assert connected.jid == account_jid(session.id)
    assert connected.connected_at is not None
    assert connected.push_name.startswith("Sandbox")


@pytest.mark.django_db
def test_a_web_process_never_runs_whatsapp_sessions():
    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
    with pytest.raises(RunnerUnavailable):
        session_connect(session=session)
    session.refresh_from_db()
    assert session.desired_connected is True  # the runner picks it up when it runs


@pytest.mark.django_db
def test_created_groups_follow_the_documented_ranges():
    session = WhatsAppSessionFactory()
    added = "15551234567@s.whatsapp.net"
    private = "15554031234@s.whatsapp.net"
    absent = "15554049999@s.whatsapp.net"

    info = routing.perform(
        CREATE_GROUP,
        session_id=session.id,
        payload=CreateGroup(name="Team", participants=[added, private, absent]),
    )

    assert jids.is_group_jid(info.jid)
    assert info.jid.startswith("120363") and len(jids.user_of(info.jid)) == 18
    assert info.owner_jid == session.jid
    by_jid = {p.jid: p for p in info.participants}
    assert by_jid[session.jid].is_super_admin
    assert by_jid[added].error == 0
    assert by_jid[private].error == 403 and by_jid[private].invite_code
    assert by_jid[private].invite_expires_at is not None
    assert by_jid[absent].error == 404 and not by_jid[absent].invite_code
    assert info.member_count == 2


@pytest.mark.django_db
def test_each_group_gets_its_own_jid():
    session = WhatsAppSessionFactory()
    created = {
        routing.perform(
            CREATE_GROUP, session_id=session.id, payload=CreateGroup(name="T", participants=[])
        ).jid
        for _ in range(50)
    }
    assert len(created) == 50


@pytest.mark.django_db
def test_sync_returns_the_stored_groups():
    session = WhatsAppSessionFactory()
    info = routing.perform(
        CREATE_GROUP,
        session_id=session.id,
        payload=CreateGroup(name="T", participants=["15551234567@s.whatsapp.net"]),
    )
    group_store(session=session, info=info)
    GroupFactory(session=WhatsAppSessionFactory())  # another session's

    synced = routing.perform(SYNC_GROUPS, session_id=session.id, payload=Empty())

    assert [g.jid for g in synced] == [info.jid]
    assert {p.jid for p in synced[0].participants} == {p.jid for p in info.participants}


@pytest.mark.django_db
def test_sandbox_never_pairs():
    session = WhatsAppSessionFactory()
    with pytest.raises(Conflict):
        routing.perform(PAIR_CODE, session_id=session.id, payload=PairCode(phone="15551234567"))


@pytest.mark.django_db
def test_logout_unlinks_and_stops_connecting():
    session = WhatsAppSessionFactory()
    routing.perform(LOGOUT, session_id=session.id, payload=Empty())
    session.refresh_from_db()
    assert session.status == SessionStatus.LOGGED_OUT
    assert session.desired_connected is False
    assert session.jid == ""


@pytest.mark.django_db
def test_connection_history_records_each_change_once():
    from sessions_app.models import SessionEvent
    from sessions_app.transitions import session_record_qr, session_record_status

    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
    expires = session.created_at
    session_record_status(session_id=session.id, status=SessionStatus.CONNECTING)
    session_record_qr(session_id=session.id, code="2@a", expires_at=expires)
    session_record_qr(session_id=session.id, code="2@b", expires_at=expires)  # rotation
    session_record_status(session_id=session.id, status=SessionStatus.CONNECTED)
    session_record_status(session_id=session.id, status=SessionStatus.CONNECTED)  # repeat
    session_record_status(
        session_id=session.id, status=SessionStatus.DISCONNECTED, reason="connection lost"
    )
    history = list(SessionEvent.objects.filter(session=session).order_by("id"))
    assert [(e.status, e.reason) for e in history] == [
        ("connecting", ""),
        ("pairing", "waiting for the QR to be scanned (or a pairing code)"),
        ("connected", ""),
        ("disconnected", "connection lost"),
    ]


@pytest.mark.django_db
def test_connection_history_keeps_the_newest():
    from sessions_app.models import SessionEvent
    from sessions_app.transitions import session_record_status

    session = WhatsAppSessionFactory()
    for n in range(SessionEvent.HISTORY_KEPT + 5):
        session_record_status(
            session_id=session.id, status=SessionStatus.DISCONNECTED, reason=f"drop {n}"
        )
    events = SessionEvent.objects.filter(session=session)
    assert events.count() == SessionEvent.HISTORY_KEPT
    assert events.first().reason == f"drop {SessionEvent.HISTORY_KEPT + 4}"

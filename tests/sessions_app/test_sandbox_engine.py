"""The sandbox engine's documented behaviour."""

import pytest

from gateway.exceptions import RunnerUnavailable
from sessions_app import jids
from sessions_app.engines import engine_for
from sessions_app.engines.sandbox import SandboxEngine, account_jid
from sessions_app.models import Engine, SessionStatus
from sessions_app.services import session_connect
from tests.factories import WhatsAppSessionFactory


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
    assert connected.jid == account_jid(session.id)
    assert connected.connected_at is not None
    assert connected.push_name.startswith("Sandbox")


@pytest.mark.django_db
def test_whatsapp_sessions_need_the_runner():
    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
    with pytest.raises(RunnerUnavailable):
        session_connect(session=session)
    session.refresh_from_db()
    assert session.status == SessionStatus.NEW


@pytest.mark.django_db
def test_created_groups_follow_the_documented_ranges():
    session = WhatsAppSessionFactory()
    added = "15551234567@s.whatsapp.net"
    private = "15554031234@s.whatsapp.net"
    absent = "15554049999@s.whatsapp.net"

    info = engine_for(session).create_group(
        session=session, name="Team", participants=[added, private, absent]
    )

    assert jids.is_group_jid(info.jid)
    assert info.jid.startswith("120363") and len(jids.user_of(info.jid)) == 18
    assert info.owner_jid == session.jid
    by_jid = {p.jid: p for p in info.participants}
    assert by_jid[session.jid].is_super_admin
    assert by_jid[added].error == 0
    assert by_jid[private].error == 403 and by_jid[private].invite_code
    assert by_jid[absent].error == 404 and not by_jid[absent].invite_code
    assert info.member_count == 2


def test_each_group_gets_its_own_jid():
    engine = SandboxEngine()
    session = WhatsAppSessionFactory.build()
    created = {
        engine.create_group(session=session, name="T", participants=[]).jid for _ in range(50)
    }
    assert len(created) == 50

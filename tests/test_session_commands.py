"""connectsession (watching, QR, pairing), logoutsession, syncgroups."""

import json
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper
from django.utils import timezone

from auth_app.capabilities import Capability
from auth_app.services import api_key_issue
from groups_app.models import Group
from groups_app.registry import CREATE_GROUP, CreateGroup
from groups_app.store import group_store
from sessions_app import routing
from sessions_app.management.commands.connectsession import watch_connection
from sessions_app.models import Engine, SessionStatus
from sessions_app.transitions import session_record_qr, session_record_status
from tests.factories import WhatsAppSessionFactory


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
class TestConnectSession:
    def test_sandbox_connects_and_reports(self):
        session = WhatsAppSessionFactory(fresh=True)
        out, _ = run("connectsession", session.id, "--timeout", "5")
        assert "connected as 1555099" in out
        session.refresh_from_db()
        assert session.status == SessionStatus.CONNECTED

    def test_whatsapp_needs_the_runner(self):
        session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
        with pytest.raises(CommandError, match="runsessions"):
            run("connectsession", session.id)

    def test_bad_phone(self):
        session = WhatsAppSessionFactory(fresh=True)
        with pytest.raises(CommandError, match="--phone"):
            run("connectsession", session.id, "--phone", "+1 555")

    def test_unknown_session(self):
        with pytest.raises(CommandError, match="not found"):
            run("connectsession", "01HZ0SESSION0000000000000Z")


@pytest.mark.django_db(transaction=True)
def test_watch_prints_each_qr_then_returns_when_connected():
    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP, desired_connected=True)
    expires = timezone.now() + timezone.timedelta(seconds=60)
    session_record_qr(session_id=session.id, code="2@first", expires_at=expires)

    def runner_writes() -> None:  # what the runner records while the phone scans
        time.sleep(0.3)
        session_record_qr(session_id=session.id, code="2@second", expires_at=expires)
        time.sleep(0.3)
        session_record_status(
            session_id=session.id, status=SessionStatus.CONNECTED, jid="15550001111@s.whatsapp.net"
        )

    writer = threading.Thread(target=runner_writes)
    writer.start()
    buffer = StringIO()
    watched = watch_connection(
        session, out=OutputWrapper(buffer), phone=None, timeout=10, poll_seconds=0.05
    )
    writer.join()
    text = buffer.getvalue()
    assert watched.status == SessionStatus.CONNECTED
    assert text.count("Scan with the phone") == 2
    assert "█" in text or "▀" in text  # the QR drawn in the terminal
    assert "status: pairing" in text and "connected as 15550001111@s.whatsapp.net" in text


@pytest.mark.django_db
def test_watch_gives_up_on_a_terminal_state():
    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP)
    session_record_status(
        session_id=session.id,
        status=SessionStatus.BANNED,
        reason="temporarily banned",
        keep_connecting=False,
    )
    with pytest.raises(CommandError, match="banned: temporarily banned"):
        watch_connection(session, out=OutputWrapper(StringIO()), phone=None, timeout=5)


@pytest.mark.django_db
def test_watch_times_out():
    session = WhatsAppSessionFactory(fresh=True, engine=Engine.WHATSAPP, desired_connected=True)
    with pytest.raises(CommandError, match="timed out"):
        watch_connection(
            session, out=OutputWrapper(StringIO()), phone=None, timeout=0.1, poll_seconds=0.05
        )


@pytest.mark.django_db
class TestLogoutAndSync:
    def test_logoutsession(self):
        session = WhatsAppSessionFactory()
        out, _ = run("logoutsession", session.id)
        assert "logged_out" in out
        session.refresh_from_db()
        assert session.status == SessionStatus.LOGGED_OUT

    def test_logoutsession_again_is_a_success_that_says_so(self):
        """The one rule for repeats (as revokeapikey): exit 0, "already"."""
        session = WhatsAppSessionFactory()
        run("logoutsession", session.id)
        out, _ = run("logoutsession", session.id)
        assert out.strip() == f"{session.id} already logged_out"
        revoked = api_key_issue(
            organization=session.organization, capabilities=frozenset({Capability.READ})
        )
        run("revokeapikey", str(revoked.api_key.pk))
        out, _ = run("revokeapikey", str(revoked.api_key.pk))
        assert out.startswith("already revoked")

    def test_logoutsession_not_connected(self):
        session = WhatsAppSessionFactory(disconnected=True)
        with pytest.raises(CommandError, match="not connected"):
            run("logoutsession", session.id)

    def test_syncgroups_one(self, api):
        session = WhatsAppSessionFactory()
        info = routing.perform(
            CREATE_GROUP,
            session_id=session.id,
            payload=CreateGroup(name="T", participants=["15551234567@s.whatsapp.net"]),
        )
        group_store(session=session, info=info)
        out, err = run("syncgroups", session.id)
        assert "synced 1 of 1 sessions" in out
        assert f"{session.id}: 1 groups, 0 removed" in out
        assert "syncing groups" in err  # the progress bar
        assert Group.objects.count() == 1

    def test_syncgroups_json_draws_no_progress_bar(self):
        session = WhatsAppSessionFactory()
        out, err = run("syncgroups", session.id, "--json")
        assert json.loads(out) == [{"session": session.id, "ok": True, "synced": 0, "removed": 0}]
        assert err == ""

    def test_syncgroups_all_reports_failures(self):
        WhatsAppSessionFactory()
        WhatsAppSessionFactory(engine=Engine.WHATSAPP)  # no runner for it here
        with pytest.raises(CommandError, match="1 session"):
            run("syncgroups", "--all")

    def test_syncgroups_needs_a_target(self):
        with pytest.raises(CommandError):
            run("syncgroups")

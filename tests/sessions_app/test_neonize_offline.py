"""The whatsapp engine on the real neonize library, offline (no network here).

Everything that loads neonize's Go library runs in a subprocess: misuse aborts an
interpreter, and this one runs the rest of the suite.
"""

import json
import stat
import subprocess
import sys

import pytest

from groups_app.models import Group
from sessions_app import device_store
from sessions_app.models import Engine, SessionStatus, WhatsAppSession
from tests.factories import WhatsAppSessionFactory
from tests.processes import ROOT, process_env


@pytest.mark.django_db(transaction=True)
def test_real_neonize_dial_failure_and_events(settings, tmp_path):
    settings.GATEWAY_DEVICE_STORE = "sqlite"
    sessions = [
        WhatsAppSessionFactory(engine=Engine.WHATSAPP, fresh=True, desired_connected=True)
        for _ in range(4)
    ]
    dial, events, replaced, banned = sessions

    result = subprocess.run(
        [sys.executable, "tests/sessions_app/neonize_offline_probe.py", *[s.id for s in sessions]],
        cwd=ROOT,
        env=process_env(GATEWAY_DEVICE_STORE="sqlite", PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finished"] is True

    # The dial failed (no network): disconnected with the reason, a retry planned, no crash.
    dial.refresh_from_db()
    assert dial.status == SessionStatus.DISCONNECTED
    assert "failed to dial" in dial.status_reason
    assert dial.desired_connected is True
    assert 0 <= report["retry_in"] <= 2
    store = device_store.file_path(dial.id)
    assert store.exists()
    assert stat.S_IMODE(store.stat().st_mode) == 0o600

    # Injected through neonize's dispatcher: paired, connected, a group stored, logged out.
    assert report["call_on_dead_socket"] == "NotConnected"
    group = Group.objects.get(jid="120363000000000099@g.us")
    assert group.participants.get(jid="15551230002@s.whatsapp.net").add_error == 403
    # Then a GroupInfo event, through neonize's own dispatcher: subject, description,
    # settings, a member in, a member out, a promotion.
    assert (group.subject, group.description) == ("Renamed", "About us")
    assert group.is_announce is True and group.is_locked is True
    roles = {p.jid: p.is_admin for p in group.participants.filter(add_error=0)}
    assert roles == {"15550001111@s.whatsapp.net": True, "15551230005@s.whatsapp.net": True}
    assert group.participant_count == 2
    events.refresh_from_db()
    assert events.status == SessionStatus.LOGGED_OUT
    assert events.desired_connected is False
    assert not device_store.file_path(events.id).exists()

    replaced.refresh_from_db()
    assert replaced.status == SessionStatus.DISCONNECTED  # retried with backoff
    assert "stream replaced" in replaced.status_reason
    banned.refresh_from_db()
    assert banned.status == SessionStatus.BANNED
    assert "created too many groups" in banned.status_reason
    # `dial`, and `replaced`, which the runner retries
    assert set(WhatsAppSession.objects.filter(desired_connected=True)) == {dial, replaced}

"""The whatsapp engine on the fake WhatsApp network (``fake_whatsapp``), with the device
store and the state sink the runner gives it."""

import threading
from typing import Any

from sessions_app import device_store
from sessions_app.engines.whatsapp import WhatsAppLiveSession
from sessions_app.runner.sink import DatabaseSink
from tests.sessions_app.fake_whatsapp import FakeNeonizeClient


def live_on(session, fake: FakeNeonizeClient, on_ended=lambda retry: None) -> WhatsAppLiveSession:
    """The whatsapp engine for ``session`` with the network faked by ``fake`` (its device
    store prepared as the runner prepares it for a worker)."""
    return WhatsAppLiveSession(
        session_id=session.id,
        name=session.name,
        jid=session.jid,
        sink=DatabaseSink(session.id),
        on_ended=on_ended,
        store_location=device_store.prepare(session.id),
        client_factory=lambda location: fake,
    )


def reload(session):
    session.refresh_from_db()
    return session


def reports_written(live: WhatsAppLiveSession, timeout: float = 5) -> None:
    """Waits until every report the engine queued so far has been handled: they are
    handled in order, so a marker queued now runs after all of them."""
    written = threading.Event()
    live._emit(written.set)
    assert written.wait(timeout), "the engine's reports were not handled in time"


def pairing(session: Any) -> tuple[WhatsAppLiveSession, FakeNeonizeClient]:
    """The engine for ``session`` showing its first QR (the session reads pairing); the
    fake's connect waits to be paired."""
    from sessions_app.status import SessionStatus
    from tests.processes import wait_for

    fake = FakeNeonizeClient()
    fake.connect = lambda: fake._stopped.wait()  # type: ignore[method-assign]
    live = live_on(session, fake)
    live.start()
    fake.qr_handler(fake, b"2@first-code")
    wait_for(lambda: reload(session).status == SessionStatus.PAIRING, "pairing")
    return live, fake

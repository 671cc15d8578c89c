"""Which engine runs a session: a live session for it, by its ``engine`` field.

A sandbox runs in the runner itself. A whatsapp session runs in a worker process of its
own (``sessions_app.worker``); its device store is prepared here, and the device to use
is looked up here, so a store that cannot be read fails that session only.
``lease_hold`` (a runner of the fleet) fences the worker by its lease.
"""

from collections.abc import Callable

from gateway.exceptions import RunnerUnavailable
from sessions_app import device_store
from sessions_app.engines.base import EndedCallback, LiveSession, StateSink
from sessions_app.engines.sandbox import SandboxLiveSession
from sessions_app.models import Engine, WhatsAppSession
from sessions_app.runner.workers import WorkerSession


def live_session_for(
    session: WhatsAppSession,
    *,
    sink: StateSink,
    on_ended: EndedCallback,
    allow_whatsapp: bool = True,
    lease_hold: Callable[[], float] | None = None,
) -> LiveSession:
    """Raises DeviceStoreError when the session's device store cannot be read."""
    if session.engine == Engine.SANDBOX:
        return SandboxLiveSession(
            session_id=session.id, name=session.name, sink=sink, on_ended=on_ended
        )
    if not allow_whatsapp:
        raise RunnerUnavailable(
            "whatsapp sessions are served by the session runner process, which cannot be reached"
        )
    return WorkerSession(
        session_id=session.id,
        name=session.name,
        jid=session.jid,
        device_jid=device_store.stored_device(session.id, session.device_jid),
        store_location=device_store.prepare(session.id),
        sink=sink,
        on_ended=on_ended,
        lease_hold=lease_hold,
    )

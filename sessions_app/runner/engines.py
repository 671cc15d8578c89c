"""Which engine runs a session: a live session for it, by its ``engine`` field."""

from gateway.exceptions import RunnerUnavailable
from sessions_app.engines.base import EndedCallback, LiveSession, StateSink
from sessions_app.engines.sandbox import SandboxLiveSession
from sessions_app.models import Engine, WhatsAppSession


def live_session_for(
    session: WhatsAppSession,
    *,
    sink: StateSink,
    on_ended: EndedCallback,
    allow_whatsapp: bool = True,
) -> LiveSession:
    if session.engine == Engine.SANDBOX:
        return SandboxLiveSession(
            session_id=session.id, name=session.name, sink=sink, on_ended=on_ended
        )
    if not allow_whatsapp:
        raise RunnerUnavailable(
            "whatsapp sessions are served by the session runner process, which cannot be reached"
        )
    # Imported here: only the runner ever loads neonize.
    from sessions_app.engines.whatsapp import WhatsAppLiveSession

    return WhatsAppLiveSession(
        session_id=session.id, name=session.name, jid=session.jid, sink=sink, on_ended=on_ended
    )

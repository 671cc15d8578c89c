"""Which engine performs a session's live actions.

This is the one place that answers "who acts for session X"; moving live actions to a
separate runner process (or several) changes this function and nothing that calls it.
"""

from sessions_app.engines.base import Engine
from sessions_app.engines.runner_only import RunnerOnlyEngine
from sessions_app.engines.sandbox import SandboxEngine
from sessions_app.models import Engine as EngineName
from sessions_app.models import WhatsAppSession

_ENGINES: dict[str, Engine] = {
    EngineName.SANDBOX: SandboxEngine(),
    EngineName.WHATSAPP: RunnerOnlyEngine(),
}


def engine_for(session: WhatsAppSession) -> Engine:
    return _ENGINES[session.engine]

"""Live actions: the one way the web process asks for something to happen on WhatsApp.

``perform(spec, session_id=…, payload=…)`` routes a row of the live-action registry
(``sessions_app.actions``) to the process that holds the session's connection. Today
that is the single runner at ``GATEWAY_RUNNER_URL``: answering "which runner owns session
X" is ``perform``'s job alone, so running several runners changes this function and
nothing that calls it. With ``GATEWAY_RUNNER_IN_PROCESS`` (the test suite) a runner
supervisor inside this process answers instead, through the same wire format.
"""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from sessions_app.actions import LiveActionSpec, Payload
from sessions_app.runner.client import call_runner

P = TypeVar("P", bound=Payload)
R = TypeVar("R")

# Set by the app when it is ready (it builds a Supervisor; this module imports none).
in_process_factory: Callable[[], Any] | None = None
_in_process: Any = None
_in_process_lock = threading.Lock()


def in_process_supervisor() -> Any:
    global _in_process
    with _in_process_lock:
        if _in_process is None:
            if in_process_factory is None:
                raise RuntimeError("the sessions app is not ready")
            _in_process = in_process_factory()
        return _in_process


def reset_in_process() -> None:
    """Stops the in-process supervisor's sessions and forgets it (between tests)."""
    global _in_process
    with _in_process_lock:
        supervisor, _in_process = _in_process, None
    if supervisor is not None:
        supervisor.stop_all(record=False)


def perform(spec: LiveActionSpec[P, R], *, session_id: str, payload: P) -> R:
    wire = payload.to_wire()
    if settings.GATEWAY_RUNNER_IN_PROCESS:
        result = in_process_supervisor().perform(session_id, spec.name, wire)
    else:
        result = call_runner(session_id, spec.name, wire, timeout=spec.timeout)
    return spec.result_from_wire(result)

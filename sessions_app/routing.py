"""Live actions: the one way the web process asks for something to happen on WhatsApp.

``perform(spec, session_id=…, payload=…)`` routes a row of the live-action registry
(``sessions_app.registry``) to the runner that holds the session, read from its lease
(``sessions_app.leases``): answering "which runner owns session X" happens here only.
Between two holders (one handed the session back, the next has not claimed it yet) the
call waits up to ``HANDOFF_WAIT_SECONDS`` for the new one instead of failing; a runner
that answers "not held here" is asked once more, at the then current holder. No holder,
or one that cannot be reached → 503 ``runner_unavailable``. With
``GATEWAY_RUNNER_IN_PROCESS`` (the test suite) a runner supervisor inside this process
answers instead, through the same wire format.
"""

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from gateway.exceptions import NotHeldHere, RunnerUnavailable
from sessions_app import leases
from sessions_app.registry import LiveActionSpec, Payload
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


HANDOFF_WAIT_SECONDS = 3.0
_POLL_SECONDS = 0.1


def perform(spec: LiveActionSpec[P, R], *, session_id: str, payload: P) -> R:
    wire = payload.to_wire()
    if settings.GATEWAY_RUNNER_IN_PROCESS:
        return spec.result_from_wire(in_process_supervisor().perform(session_id, spec.name, wire))
    for _ in range(2):
        candidates = _runners_for(spec, session_id)
        if not candidates:
            if spec.route == "holder_if_any":
                return spec.result_from_wire({})
            raise RunnerUnavailable("no session runner holds this session; retry shortly")
        for url in candidates:
            try:
                result = call_runner(url, session_id, spec.name, wire, timeout=spec.timeout)
            except NotHeldHere:
                continue
            return spec.result_from_wire(result)
    raise RunnerUnavailable("no session runner holds this session; retry shortly")


def _runners_for(spec: LiveActionSpec[Any, Any], session_id: str) -> list[str]:
    """The runner URLs to ask, in order."""
    holder = leases.holder_of(session_id)
    if holder is not None:
        return [holder.url]
    if spec.route == "holder_if_any":
        return []
    if spec.route == "any":
        runners = leases.live_runners(lease_seconds=settings.GATEWAY_RUNNER_LEASE_SECONDS)
        return [runner.url for runner in sorted(runners, key=lambda r: r.load / r.capacity)]
    # A session between holders: wait for the next one, briefly.
    deadline = time.monotonic() + HANDOFF_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        holder = leases.holder_of(session_id)
        if holder is not None:
            return [holder.url]
    return []

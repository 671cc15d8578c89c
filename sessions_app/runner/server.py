"""The runner's HTTP endpoint for web processes (private interface, signed calls).

Connections are taken by the ``listener`` (a door thread for heads, a bounded pool of
handlers for calls); this module decides what a request gets: ``admit`` on the head
alone (only a signed POST, or the health probe, gets further), ``answer`` with the body.
"""

import json
import logging
import re
import threading
from typing import Any

from django.db import close_old_connections, connections

from gateway.errors import STATUS_BY_CODE, envelope
from gateway.exceptions import GatewayError, NotHeldHere
from gateway.request_context import HEADER, accept_or_make, request_id
from sessions_app.registry import action_named
from sessions_app.runner.listener import HANDLERS, Answer, Listener, Request
from sessions_app.runner.open_files import connection_cap
from sessions_app.runner.protocol import (
    BAD_RUNNER_REQUEST,
    MAX_BODY,
    RUNNER_IDLE_SECONDS,
    ReplayGuard,
    body_refusal,
)
from sessions_app.runner.supervisor import Supervisor

logger = logging.getLogger(__name__)

_PATH_RE = re.compile(r"^/v1/sessions/(?P<session>[0-9A-Za-z]{26})/(?P<action>[a-z_]+)$")
# A signed call that does nothing: the web→runner hop alone (protocol, signature, HTTP),
# for checks and for measuring it.
PING_PATH = "/v1/ping"
HEALTH_PATH = "/healthz"


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return Answer(status=status, body=json.dumps(body).encode(), headers=headers or {})


def _unauthorized(reason: str) -> Answer:
    return _json(
        401,
        envelope(
            "unauthorized",
            "runner call unsigned, badly signed, stale or replayed",
            {"reason": reason},
        ),
    )


class RunnerServer:
    def __init__(
        self,
        address: tuple[str, int],
        supervisor: Supervisor,
        *,
        max_connections: int | None = None,
        handlers: int = HANDLERS,
    ) -> None:
        self.supervisor = supervisor
        self.guard = ReplayGuard()
        self.listener = Listener(
            address,
            admit=self.admit,
            answer=self.answer,
            max_connections=max_connections or connection_cap(),
            handlers=handlers,
            idle_seconds=RUNNER_IDLE_SECONDS,
            on_handler_exit=connections.close_all,
        )
        self.server_address = self.listener.server_address

    def serve_in_thread(self) -> threading.Thread:
        return self.listener.serve_in_thread()

    def shutdown(self) -> None:
        self.listener.shutdown()

    def server_close(self) -> None:
        self.listener.close()

    def admit(self, request: Request) -> Answer | None:
        """On the head alone, without blocking: a refusal, or None to read the body."""
        if request.method == "GET":
            if request.path == HEALTH_PATH:
                return None
            return _json(404, envelope("not_found", "no such endpoint"))
        if request.method != "POST":
            return _json(405, envelope("method_not_allowed", "method not allowed"))
        if not 0 <= request.length <= MAX_BODY:
            return _json(400, envelope(BAD_RUNNER_REQUEST, "bad runner request: body length"))
        refusal = self.guard.refusal(request.headers, "POST", request.path)
        if refusal is not None:
            return _unauthorized(refusal)
        request.trusted = True
        return None

    def answer(self, request: Request) -> Answer:
        logger.debug("runner request: %s %s", request.method, request.path)
        if request.path == HEALTH_PATH:
            live = sorted(self.supervisor.live_ids())
            return _json(200, {"status": "ok", "live": len(live), "sessions": live})
        if body_refusal(request.headers, request.body) is not None:
            return _unauthorized("bad_signature")
        if request.path == PING_PATH:
            return _json(200, {"result": {}})
        match = _PATH_RE.fullmatch(request.path)
        if match is None or action_named(match["action"]) is None:
            return _json(404, envelope("not_found", "no such runner action"))
        try:
            payload = json.loads(request.body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("body must be an object")
        except ValueError as exc:
            return _json(400, envelope(BAD_RUNNER_REQUEST, f"bad runner request: {exc}"))
        close_old_connections()
        request_id.set(accept_or_make(request.headers.get(HEADER)))
        try:
            result = self.supervisor.perform(match["session"], match["action"], payload)
        except GatewayError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            # not_held is the protocol's own answer: the web asks the holder instead.
            status = 409 if isinstance(exc, NotHeldHere) else STATUS_BY_CODE.get(exc.code, 500)
            return _json(status, envelope(exc.code, exc.message, exc.details), headers)
        except Exception:
            logger.exception("runner action %s failed", match["action"])
            return _json(500, envelope("internal_error", "internal error in the session runner"))
        finally:
            # Kept for the connection's next request if still usable (CONN_MAX_AGE).
            close_old_connections()
        return _json(200, {"result": result})

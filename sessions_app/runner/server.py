"""The runner's HTTP endpoint for web processes (loopback, shared secret)."""

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import close_old_connections, connections

from gateway.errors import STATUS_BY_CODE, envelope
from gateway.exceptions import GatewayError, NotHeldHere
from gateway.request_context import HEADER, accept_or_make, request_id
from gateway.server_errors import send_error_as_envelope
from groups_app.rules import PICTURE_MAX_BYTES
from sessions_app.registry import action_named
from sessions_app.runner.protocol import RUNNER_IDLE_SECONDS, ReplayGuard
from sessions_app.runner.supervisor import Supervisor

logger = logging.getLogger(__name__)

_PATH_RE = re.compile(r"^/v1/sessions/(?P<session>[0-9A-Za-z]{26})/(?P<action>[a-z_]+)$")
# The largest call is a group picture: the API's limit for it, base64, in JSON.
_MAX_BODY = (PICTURE_MAX_BYTES + 2) // 3 * 4 + 64 * 1024
# The runner's own refusals of a call's framing (not of what the caller asked): the web
# side answers its caller 500 internal_error for these, never a validation error.
BAD_RUNNER_REQUEST = "bad_runner_request"
# A signed call that does nothing: the web→runner hop alone (protocol, signature, HTTP),
# for checks and for measuring it.
PING_PATH = "/v1/ping"


class RunnerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.guard = ReplayGuard()
        super().__init__(address, _Handler)

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.2,), daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    """One thread per connection; a web process keeps its connection for many calls
    (HTTP/1.1 keep-alive), and the connection is let go after ``RUNNER_IDLE_SECONDS``
    without a request. The thread's database connection lives as long as it."""

    server: RunnerServer
    protocol_version = "HTTP/1.1"
    timeout = RUNNER_IDLE_SECONDS
    # An answer is written as head then body: buffered, they leave in one send when the
    # request is done (BaseHTTPRequestHandler flushes then), and with Nagle's algorithm
    # off nothing waits for the client's delayed acknowledgement (~40 ms).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    send_error = send_error_as_envelope

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            connections.close_all()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("runner request: " + format, *args)

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            live = sorted(self.server.supervisor.live_ids())
            self._send(200, {"status": "ok", "live": len(live), "sessions": live})
        else:
            self._send(404, envelope("not_found", "no such endpoint"))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(400, envelope(BAD_RUNNER_REQUEST, "bad runner request: body length"))
            return
        body = self.rfile.read(length)
        refusal = self.server.guard.refusal(self.headers, "POST", self.path, body)
        if refusal is not None:
            self._send(
                401,
                envelope(
                    "unauthorized",
                    "runner call unsigned, badly signed, stale or replayed",
                    {"reason": refusal},
                ),
            )
            return
        if self.path == PING_PATH:
            self._send(200, {"result": {}})
            return
        match = _PATH_RE.fullmatch(self.path)
        if match is None or action_named(match["action"]) is None:
            self._send(404, envelope("not_found", "no such runner action"))
            return
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("body must be an object")
        except ValueError as exc:
            self._send(400, envelope(BAD_RUNNER_REQUEST, f"bad runner request: {exc}"))
            return
        close_old_connections()
        request_id.set(accept_or_make(self.headers.get(HEADER)))
        try:
            result = self.server.supervisor.perform(match["session"], match["action"], payload)
        except GatewayError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            # not_held is the protocol's own answer: the web asks the holder instead.
            status = 409 if isinstance(exc, NotHeldHere) else STATUS_BY_CODE.get(exc.code, 500)
            self._send(status, envelope(exc.code, exc.message, exc.details), headers)
            return
        except Exception:
            logger.exception("runner action %s failed", match["action"])
            self._send(500, envelope("internal_error", "internal error in the session runner"))
            return
        finally:
            # Kept for the connection's next request if still usable (CONN_MAX_AGE).
            close_old_connections()
        self._send(200, {"result": result})

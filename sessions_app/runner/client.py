"""The web process's side of the runner protocol: one signed call to one runner, on a
connection kept open between calls (``protocol.CLIENT_IDLE_SECONDS``).

A kept connection can be closed by the runner just as a call goes out on it (the runner
stopping, or dying). When that happens before any byte of an answer, the call is sent
once more, byte for byte (the same signature and nonce), on a new connection:

- a runner that never saw the first attempt takes the second as the call;
- a runner that did see it refuses the second as a replay (401, reason ``replayed``):
  the first attempt arrived and its outcome is unknown (504);
- no runner there any more (refused, or no answer): the first attempt may have been
  acted on by the runner that died, so the outcome is unknown too (504), never the
  "nothing happened" of an unreachable runner (503).
"""

import json
from typing import Any
from urllib.parse import urlsplit

from gateway import http, request_context
from gateway.exceptions import (
    NotHeldHere,
    RunnerUnavailable,
    WhatsAppTimedOut,
    error_for_code,
)
from sessions_app.runner.protocol import (
    BAD_RUNNER_REQUEST,
    CLIENT_IDLE_SECONDS,
    MAX_BODY,
    REPLAYED,
    signed_headers,
)

_connections = http.KeepAlivePool(idle_seconds=CLIENT_IDLE_SECONDS)


def call_runner(
    base_url: str, session_id: str, action: str, payload: dict[str, Any], *, timeout: float
) -> dict[str, Any]:
    return _signed_post(
        f"{base_url.rstrip('/')}/v1/sessions/{session_id}/{action}", payload, timeout=timeout
    )


def ping_runner(base_url: str, *, timeout: float = 3.0) -> None:
    """A signed call that does nothing: the web→runner hop alone."""
    _signed_post(f"{base_url.rstrip('/')}/v1/ping", {}, timeout=timeout)


def forget_connections() -> None:
    """Closes this thread's kept connections to runners."""
    _connections.close_all()


def _unknown(exc: Exception | None, why: str = "did not answer") -> WhatsAppTimedOut:
    return WhatsAppTimedOut(
        f"the session runner {why}; the outcome is unknown",
        details={"runner": str(exc)} if exc else None,
    )


def _signed_post(url: str, payload: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    if len(body) > MAX_BODY:
        # The runner would refuse it on its head, and close while the body is still
        # going out: the refusal is made here instead, the same one.
        raise error_for_code(
            BAD_RUNNER_REQUEST,
            f"bad runner request: body length {len(body)} over the runner's {MAX_BODY}",
        )
    headers = {
        **signed_headers("POST", urlsplit(url).path, body),
        request_context.HEADER: request_context.request_id.get(),
    }
    resent = False
    try:
        try:
            response = http.post_json(
                url, body, timeout=timeout, headers=headers, pool=_connections
            )
        except http.OutboundError as exc:
            if not exc.closed_unanswered:
                raise
            resent = True
            response = http.post_json(
                url, body, timeout=timeout, headers=headers, pool=_connections
            )
    except http.OutboundError as exc:
        if exc.unreachable and not resent:
            raise RunnerUnavailable(details={"runner": str(exc)}) from exc
        # The runner took the request and did not answer (it died, the connection broke,
        # or it ran out of time): it may have acted. The caller's retry looks first.
        raise _unknown(exc) from exc
    body_data = response.body if isinstance(response.body, dict) else {}
    if resent and response.status == 401 and _refusal(body_data) == REPLAYED:
        raise _unknown(None, "closed the connection after taking the request")
    result = body_data.get("result")
    if response.status == 200 and isinstance(result, dict):
        return result
    if response.status in (401, 403):
        raise RunnerUnavailable(
            "the session runner refused this process: check that web and runner share "
            "SECRET_KEY (or GATEWAY_RUNNER_SECRET) and that their clocks agree"
        )
    error = body_data.get("error")
    error = error if isinstance(error, dict) else {}
    if response.status == 409 and error.get("code") == NotHeldHere.code:
        raise NotHeldHere()
    details = error.get("details")
    # The runner's error, as the same exception type (a timeout stays a timeout: the
    # audit trail decides "outcome unknown" by type).
    remote = error_for_code(
        str(error.get("code") or "internal_error"),
        str(error.get("message") or f"the runner answered HTTP {response.status}"),
        details=details if isinstance(details, dict) else None,
    )
    retry_after = response.headers.get("Retry-After")
    if retry_after and retry_after.isdigit():
        remote.retry_after = int(retry_after)
    raise remote


def _refusal(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    reason = details.get("reason") if isinstance(details, dict) else None
    return reason if isinstance(reason, str) else None

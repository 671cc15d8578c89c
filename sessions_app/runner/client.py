"""The web process's side of the runner protocol: one signed call to one runner."""

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
from sessions_app.runner.protocol import signed_headers


def call_runner(
    base_url: str, session_id: str, action: str, payload: dict[str, Any], *, timeout: float
) -> dict[str, Any]:
    url = f"{base_url.rstrip('/')}/v1/sessions/{session_id}/{action}"
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        response = http.post_json(
            url,
            body,
            timeout=timeout,
            headers={
                **signed_headers("POST", urlsplit(url).path, body),
                request_context.HEADER: request_context.request_id.get(),
            },
        )
    except http.OutboundError as exc:
        if exc.unreachable:
            raise RunnerUnavailable(details={"runner": str(exc)}) from exc
        # The runner took the request and did not answer (it died, the connection broke,
        # or it ran out of time): it may have acted. The caller's retry looks first.
        raise WhatsAppTimedOut(
            "the session runner did not answer; the outcome is unknown",
            details={"runner": str(exc)},
        ) from exc
    body_data = response.body if isinstance(response.body, dict) else {}
    if response.status == 200 and isinstance(body_data.get("result"), dict):
        return body_data["result"]
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

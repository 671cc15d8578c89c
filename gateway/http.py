"""All outbound HTTP of the gateway goes through here: one place owns timeouts and errors.

Callers get the parsed JSON body and the response headers, or an ``OutboundError``
whose ``permanent`` flag says whether retrying the same request can help.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_BODY_BYTES = 1024 * 1024


class OutboundError(Exception):
    """``unreachable``: nothing was sent (connection refused, connect timeout), so the
    request certainly had no effect; otherwise it may have."""

    def __init__(self, message: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


@dataclass(frozen=True)
class JsonResponse:
    body: Any
    headers: dict[str, str]
    status: int = 200


def check_url(url: str) -> None:
    """Raises ValueError unless the URL is absolute http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.netloc:
        raise ValueError(f"only absolute http(s) URLs are allowed, got {url!r}")


def get_json(url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> JsonResponse:
    """GET a JSON document. ``timeout`` bounds connecting and each read; redirects are
    not followed; bodies over 1 MiB are refused."""
    check_url(url)
    try:
        response = requests.get(
            url,
            timeout=(timeout, timeout),
            headers={"Accept": "application/json"},
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout as exc:
        raise OutboundError(f"timed out after {timeout:g}s", permanent=False) from exc
    except requests.RequestException as exc:
        raise OutboundError(f"request failed: {exc.__class__.__name__}", permanent=False) from exc
    with response:
        if response.status_code != 200:
            permanent = 400 <= response.status_code < 500 and response.status_code != 429
            raise OutboundError(f"answered HTTP {response.status_code}", permanent=permanent)
        try:
            raw = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
        except Exception as exc:  # urllib3 read timeouts and protocol errors
            raise OutboundError(
                f"reading the body failed: {exc.__class__.__name__}", permanent=False
            ) from exc
        if len(raw) > MAX_BODY_BYTES:
            raise OutboundError("response body is too large", permanent=True)
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError as exc:  # includes UnicodeDecodeError
            raise OutboundError("response is not JSON", permanent=False) from exc
        return JsonResponse(body=body, headers=dict(response.headers))


def _nothing_sent(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before the request went out (refused, no route,
    connect timeout) — as opposed to a reset, an EOF or a broken pipe after sending."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def post_json(
    url: str, payload: Any, *, timeout: float, headers: dict[str, str] | None = None
) -> JsonResponse:
    """POST a JSON body (``payload``, or its exact bytes) and read a JSON answer, whatever
    its status (the caller decides what a status means). Connecting is bounded by 3 s at
    most; the answer by ``timeout``.

    ``OutboundError.unreachable`` is set only when nothing was sent; a connection that
    breaks after sending, or no answer in time, leaves the outcome unknown."""
    check_url(url)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        response = requests.post(
            url,
            data=body,
            timeout=(min(timeout, DEFAULT_TIMEOUT_SECONDS), timeout),
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                **(headers or {}),
            },
            allow_redirects=False,
        )
    except requests.ConnectTimeout as exc:
        raise OutboundError("cannot connect: timed out", permanent=False, unreachable=True) from exc
    except requests.ConnectionError as exc:
        if _nothing_sent(exc):
            raise OutboundError(
                f"cannot connect: {exc.__class__.__name__}", permanent=False, unreachable=True
            ) from exc
        # Connected and sent; then reset, closed or cut: the peer may have acted.
        raise OutboundError(
            "the connection broke after the request was sent", permanent=False
        ) from exc
    except requests.Timeout as exc:
        raise OutboundError(f"no answer within {timeout:g}s", permanent=False) from exc
    except requests.RequestException as exc:
        raise OutboundError(f"request failed: {exc.__class__.__name__}", permanent=False) from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise OutboundError(
            f"answered HTTP {response.status_code} without JSON", permanent=False
        ) from exc
    return JsonResponse(body=body, headers=dict(response.headers), status=response.status_code)

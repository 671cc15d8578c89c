"""All outbound HTTP of the gateway goes through here: one place owns timeouts and errors.

Callers get the parsed JSON body and the response headers, or an ``OutboundError``
whose ``permanent`` flag says whether retrying the same request can help.
"""

import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests

from gateway.sockets import has_input

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_BODY_BYTES = 1024 * 1024


class OutboundError(Exception):
    """``unreachable``: nothing was sent (connection refused, connect timeout), so the
    request certainly had no effect; otherwise it may have. ``closed_unanswered``: the
    request went out on a kept connection that the peer closed before answering
    anything (it may have been closing an idle connection, or it may have died
    handling the request)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        unreachable: bool = False,
        closed_unanswered: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable
        self.closed_unanswered = closed_unanswered


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


class _KeptConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle_since = time.monotonic()


class KeepAlivePool:
    """Persistent HTTP/1.1 connections to a few fixed peers (the session runners), one per
    peer per thread, so a call costs a request and an answer, not a TCP handshake.

    A kept connection is used again only if it has been idle under ``idle_seconds`` (the
    runner lets one go after ``RUNNER_IDLE_SECONDS``, longer: this side always lets go
    first) and nothing has arrived on it since the last answer (a peer that closed it, or
    died, leaves end-of-file there). Whatever the check, a peer can close a connection
    at the moment a request goes out on it; that is reported as ``closed_unanswered``
    for the caller to decide whether the same request can be sent again.
    """

    def __init__(self, *, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._local = threading.local()

    def _kept(self) -> dict[str, _KeptConnection]:
        kept: dict[str, _KeptConnection] | None = getattr(self._local, "kept", None)
        if kept is None:
            kept = self._local.kept = {}
        return kept

    def take(self, origin: str) -> socket.socket | None:
        """The kept connection to ``origin`` if it can still be used; it is handed out
        (no longer kept) until ``keep`` gives it back."""
        entry = self._kept().pop(origin, None)
        if entry is None:
            return None
        idle = time.monotonic() - entry.idle_since
        if idle >= self.idle_seconds or has_input(entry.sock):
            entry.sock.close()
            return None
        return entry.sock

    def keep(self, origin: str, sock: socket.socket) -> None:
        previous = self._kept().pop(origin, None)
        if previous is not None:
            previous.sock.close()
        self._kept()[origin] = _KeptConnection(sock)

    def close_all(self) -> None:
        for entry in self._kept().values():
            entry.sock.close()
        self._kept().clear()


def post_json(
    url: str,
    payload: Any,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    pool: KeepAlivePool | None = None,
) -> JsonResponse:
    """POST a JSON body (``payload``, or its exact bytes) and read a JSON answer, whatever
    its status (the caller decides what a status means). Connecting is bounded by 3 s at
    most; the answer by ``timeout``. ``https`` URLs are verified against the system's
    certificate authorities (or ``SSL_CERT_FILE``). With ``pool``, the connection is one
    kept from an earlier call when it can be, and is kept for the next.

    ``OutboundError.unreachable`` is set only when nothing was sent;
    ``OutboundError.closed_unanswered`` when a kept connection was closed by the peer
    before any byte of an answer. Otherwise a connection that breaks after sending, or
    no answer in time, leaves the outcome unknown."""
    check_url(url)
    parts = urlsplit(url)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = _request_bytes(
        target=parts.path + (f"?{parts.query}" if parts.query else ""),
        host=parts.netloc,
        body=body,
        headers=headers or {},
    )
    sock = pool.take(parts.netloc) if pool is not None else None
    reused = sock is not None
    if sock is None:
        sock = _connect(parts, timeout=min(timeout, DEFAULT_TIMEOUT_SECONDS))
    answered = False
    try:
        sock.settimeout(timeout)
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        answered = True
        raw = response.read(MAX_BODY_BYTES + 1)
    except TimeoutError as exc:
        sock.close()
        raise OutboundError(f"no answer within {timeout:g}s", permanent=False) from exc
    except (OSError, http.client.HTTPException) as exc:
        sock.close()
        unanswered = reused and not answered and _closed_by_peer(exc)
        raise OutboundError(
            "the connection broke after the request was sent",
            permanent=False,
            closed_unanswered=unanswered,
        ) from exc
    if len(raw) > MAX_BODY_BYTES:
        sock.close()
        raise OutboundError("response body is too large", permanent=True)
    if pool is not None and response.isclosed() and not response.will_close:
        pool.keep(parts.netloc, sock)
    else:
        sock.close()
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # includes UnicodeDecodeError
        raise OutboundError(
            f"answered HTTP {response.status} without JSON", permanent=False
        ) from exc
    return JsonResponse(body=parsed, headers=dict(response.getheaders()), status=response.status)


def _request_bytes(*, target: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The whole request, head and body, for one send: a small call goes out as one
    packet."""
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {host}",
        "Accept: application/json",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    if any(bad in line for line in lines for bad in ("\r", "\n", "\0")):
        raise ValueError("a header or the target contains a line break")
    head = "\r\n".join(lines)
    return head.encode("latin-1") + b"\r\n\r\n" + body


def _connect(parts: SplitResult, *, timeout: float) -> socket.socket:
    """A new connection (TLS for https, verified), or OutboundError(unreachable)."""
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    sock: socket.socket | None = None
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        # Small requests on a kept connection: each goes out at once, not after the
        # peer's (delayed) acknowledgement of the one before.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    except TimeoutError as exc:
        if sock is not None:
            sock.close()
        raise OutboundError("cannot connect: timed out", permanent=False, unreachable=True) from exc
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise OutboundError(
            f"cannot connect: {exc.__class__.__name__}", permanent=False, unreachable=True
        ) from exc
    return sock


def _closed_by_peer(exc: BaseException) -> bool:
    """The peer closed or reset the connection (as opposed to a malformed answer)."""
    return isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError)

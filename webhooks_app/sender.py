"""One webhook attempt over HTTP, bounded in total time, on kept connections.

- **A total deadline per attempt** (``GATEWAY_WEBHOOK_TIMEOUT_SECONDS``, default 10 s):
  connecting, TLS, sending, the status line and headers, and reading at most the first
  64 KiB of the body all fit in it. Each socket operation is bounded by what is left,
  and a watchdog thread shuts down the socket of an attempt past its deadline, so a
  receiver that trickles a byte at a time is cut off on time, not after 10 s per read.
- **Kept connections**: each sender thread keeps one HTTP/1.1 connection per receiver
  (scheme, host, port) for the next delivery there. A connection is used again only
  while the name's address was checked less than ``RECHECK_SECONDS`` ago; after that
  the name is resolved and checked again (the address rule, ``addresses``), so a DNS
  change to a private address is refused within that time.
- **Directly**: the worker connects to the address it checked, never through a proxy
  from the environment (a proxy would resolve the name itself, and the address rule
  could not hold). TLS is verified against the system's authorities for the host name.
"""

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.utils import timezone

from gateway.sockets import has_input
from webhooks_app.addresses import AddressRefused, checked_address

READ_LIMIT_BYTES = 64 * 1024
KEPT_BODY_BYTES = 1024
RECHECK_SECONDS = 30.0
_WATCH_SECONDS = 0.02


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str
    started_at: datetime | None = None
    duration_ms: int = 0
    # The first KEPT_BODY_BYTES of the answer, as text.
    response_body: str = ""


class _Watchdog:
    """Shuts down the sockets of attempts past their deadline (one thread for all)."""

    def __init__(self) -> None:
        self._watched: dict[int, tuple[socket.socket, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> int:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._thread.start()
            ticket = id(sock)
            self._watched[ticket] = (sock, deadline)
            return ticket

    def forget(self, ticket: int) -> None:
        with self._lock:
            self._watched.pop(ticket, None)

    def _run(self) -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            now = time.monotonic()
            with self._lock:
                late = [t for t, (_s, deadline) in self._watched.items() if deadline <= now]
                socks = [self._watched.pop(ticket)[0] for ticket in late]
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = _Watchdog()


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a checked address, verified for the host name."""

    def __init__(self, address: str, port: int, *, hostname: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._hostname = hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._hostname)  # type: ignore[attr-defined]


@dataclass
class _Kept:
    connection: http.client.HTTPConnection
    checked_at: float


class Transport:
    """One sender thread's connections (not shared between threads)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str, int], _Kept] = {}

    def close(self) -> None:
        for kept in self._kept.values():
            kept.connection.close()
        self._kept.clear()

    def _connection(
        self, url: str, *, timeout: float
    ) -> tuple[http.client.HTTPConnection, tuple[str, str, int], bool, float]:
        """A connection to ``url``'s receiver, its key, whether it was kept, and when its
        address was last checked."""
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, (parts.hostname or "").lower(), port)
        kept = self._kept.pop(key, None)
        if kept is not None:
            sock = kept.connection.sock
            fresh = time.monotonic() - kept.checked_at < RECHECK_SECONDS
            if fresh and sock is not None and not has_input(sock):
                return kept.connection, key, True, kept.checked_at
            kept.connection.close()
        host, address, port = checked_address(url)
        if scheme == "https":
            connection: http.client.HTTPConnection = _PinnedHTTPS(
                address, port, hostname=host, timeout=timeout
            )
        else:
            connection = http.client.HTTPConnection(address, port, timeout=timeout)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, key, False, time.monotonic()

    def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
        started_at = timezone.now()
        started = time.monotonic()
        deadline = started + timeout

        def finished(**fields: object) -> Outcome:
            duration = int((time.monotonic() - started) * 1000)
            return Outcome(started_at=started_at, duration_ms=duration, **fields)  # type: ignore[arg-type]

        for _try in range(2):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return finished(ok=False, status_code=None, error=_late(timeout))
            try:
                connection, key, reused, checked_at = self._connection(url, timeout=remaining)
            except AddressRefused as exc:
                return finished(ok=False, status_code=None, error=f"refused address: {exc}")
            except (OSError, ssl.SSLError) as exc:
                late = time.monotonic() >= deadline
                error = _late(timeout) if late else f"cannot connect: {_describe(exc)}"
                return finished(ok=False, status_code=None, error=error)
            sock = connection.sock
            if sock is None:  # connect() always leaves one
                return finished(ok=False, status_code=None, error="the connection broke")
            ticket = WATCHDOG.watch(sock, deadline)
            answered = False
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                path = urlsplit(url)
                target = (path.path or "/") + (f"?{path.query}" if path.query else "")
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
                answered = True
                raw = response.read(READ_LIMIT_BYTES)
                whole = response.isclosed()
                expected = response.length
                if time.monotonic() >= deadline or (
                    expected is not None and not whole and len(raw) < READ_LIMIT_BYTES
                ):
                    # Cut off by the watchdog (or the peer) in the middle of the body.
                    raise TimeoutError("the answer did not complete")
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if time.monotonic() >= deadline:
                    return finished(ok=False, status_code=None, error=_late(timeout))
                if reused and not answered:
                    continue  # the receiver closed a kept connection: once more, anew
                return finished(ok=False, status_code=None, error=_describe(exc))
            finally:
                WATCHDOG.forget(ticket)
            if whole and not response.will_close:
                self._kept[key] = _Kept(connection, checked_at)
            else:
                connection.close()
            ok = 200 <= response.status < 300
            return finished(
                ok=ok,
                status_code=response.status,
                error="" if ok else f"answered HTTP {response.status}",
                response_body=raw[:KEPT_BODY_BYTES].decode("utf-8", errors="replace"),
            )
        return finished(ok=False, status_code=None, error="the connection broke")


def _late(timeout: float) -> str:
    return f"no complete answer within {timeout:g} s"


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None)
    return exc.__class__.__name__ + (f": {reason}" if reason else "")

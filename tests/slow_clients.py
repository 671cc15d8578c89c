"""Slow clients, as an attacker runs them: many sockets that each send a request line
and then one header line every ``trickle_seconds``, never finishing the head. A socket
the server closes is opened again at once, so the pressure stays at ``count``.

Used by the flood and slowloris tests and by ``bench/floods.py``.
"""

import errno
import resource
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


def raise_own_open_files(at_least: int) -> None:
    """This process needs a descriptor per slow socket: raises its soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < at_least:
        if hard != resource.RLIM_INFINITY and hard < at_least:
            raise RuntimeError(f"need {at_least} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (at_least, hard))


@dataclass(eq=False)
class _Slow:
    sock: socket.socket
    opened: float
    next_line: float
    connected: bool = False


@dataclass
class FloodReport:
    opened: int = 0
    # How long the server kept each socket it closed, in seconds.
    lifetimes: list[float] = field(default_factory=list)
    refused: int = 0  # connects that failed (backlog full, reset)


class SlowClients:
    def __init__(
        self,
        address: tuple[str, int],
        count: int,
        *,
        request_line: bytes = b"POST /v1/ping HTTP/1.1\r\n",
        trickle_seconds: float = 10.0,
    ) -> None:
        self.address = address
        self.count = count
        self.request_line = request_line
        self.trickle_seconds = trickle_seconds
        self.report = FloodReport()
        self._selector = selectors.DefaultSelector()
        self._open: set[_Slow] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def __enter__(self) -> "SlowClients":
        raise_own_open_files(self.count + 512)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for slow in self._open:
            slow.sock.close()
        self._open.clear()
        self._selector.close()

    def held(self) -> int:
        """Sockets open now (connected or connecting)."""
        return len(self._open)

    def _open_one(self, now: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        error = sock.connect_ex(self.address)
        if error not in (0, errno.EINPROGRESS):
            sock.close()
            self.report.refused += 1
            return
        slow = _Slow(sock=sock, opened=now, next_line=now)
        self._open.add(slow)
        self._selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, slow)
        self.report.opened += 1

    def _close(self, slow: _Slow, now: float, *, by_server: bool) -> None:
        self._open.discard(slow)
        self._selector.unregister(slow.sock)
        slow.sock.close()
        if by_server and slow.connected:
            self.report.lifetimes.append(now - slow.opened)
        elif by_server:
            self.report.refused += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for _ in range(min(200, self.count - len(self._open))):
                self._open_one(now)
            for key, mask in self._selector.select(timeout=0.05):
                slow: _Slow = key.data
                if mask & selectors.EVENT_WRITE and not slow.connected:
                    if slow.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        self._close(slow, now, by_server=True)
                        continue
                    slow.connected = True
                    self._selector.modify(slow.sock, selectors.EVENT_READ, slow)
                if mask & selectors.EVENT_READ:
                    try:
                        data = slow.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._close(slow, now, by_server=True)
            for slow in [s for s in self._open if s.connected and s.next_line <= now]:
                line = self.request_line if slow.next_line == slow.opened else b"X-Slow: 1\r\n"
                try:
                    slow.sock.send(line)
                except OSError:
                    self._close(slow, now, by_server=True)
                    continue
                slow.next_line = now + self.trickle_seconds


class SlowTlsClients:
    """The same attack over TLS (a thread per socket: a few hundred at most): each
    completes its handshake, then trickles its head, or (``body=True``) sends a whole head
    announcing ``body_bytes`` and then trickles the body a byte at a time."""

    def __init__(
        self,
        address: tuple[str, int],
        count: int,
        *,
        context: ssl.SSLContext,
        request_line: bytes = b"GET /api/v1/sessions HTTP/1.1\r\nHost: gateway\r\n",
        trickle_seconds: float = 5.0,
        body: bool = False,
        body_bytes: int = 100_000,
    ) -> None:
        self.address = address
        self.count = count
        self.context = context
        self.request_line = request_line
        self.trickle_seconds = trickle_seconds
        self.body = body
        self.body_bytes = body_bytes
        self.report = FloodReport()
        self.connected = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._one, name="slow-tls", daemon=True) for _ in range(count)
        ]

    def __enter__(self) -> "SlowTlsClients":
        raise_own_open_files(self.count + 512)
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _count(self, delta: int) -> None:
        with self._lock:
            self.connected += delta

    def _one(self) -> None:
        while not self._stop.is_set():
            opened = time.monotonic()
            try:
                raw = socket.create_connection(self.address, timeout=10)
                sock = self.context.wrap_socket(raw, server_hostname="localhost")
            except OSError:
                with self._lock:
                    self.report.refused += 1
                self._stop.wait(0.2)
                continue
            with self._lock:
                self.report.opened += 1
            self._count(1)
            try:
                if self.body:
                    sock.sendall(
                        b"POST /api/v1/sessions HTTP/1.1\r\nHost: gateway\r\n"
                        b"Content-Type: application/json\r\n"
                        + f"Content-Length: {self.body_bytes}\r\n\r\n".encode()
                    )
                else:
                    sock.sendall(self.request_line)
                while not self._stop.wait(self.trickle_seconds):
                    sock.sendall(b"{" if self.body else b"X-Slow: 1\r\n")
            except OSError:
                with self._lock:
                    self.report.lifetimes.append(time.monotonic() - opened)
            finally:
                self._count(-1)
                sock.close()

"""How the runner takes connections: a front door that a flood of sockets cannot hold.

One thread (the door) accepts connections and reads request heads for all of them at
once, without blocking; a bounded pool of handler threads reads bodies, performs calls
and writes answers. What that buys:

- Until its head is complete, a connection costs one file descriptor and at most
  ``MAX_HEAD_BYTES`` of buffer, never a thread. The door holds at most
  ``max_connections`` (by default half the process's open-files limit, which
  ``runsessions`` raises to its hard limit: ``open_files``). When it is full, a new
  connection replaces the oldest one that has not yet made a signed call, so a flood of
  unauthenticated sockets cannot keep a web process out.
- A head must be complete within ``HEAD_SECONDS`` of the accept (of its first byte, on a
  kept connection): a total deadline, which a trickle of bytes does not reset.
- The application's ``admit`` sees each head before any byte of its body is read, and
  refuses what it will not take (the runner: anything unsigned or badly signed); the
  body of an admitted request must arrive within ``BODY_SECONDS``.
- A connection is kept open between calls only when ``admit`` marked its request
  ``trusted`` (a signed call: a web process); it is then let go after ``idle_seconds``
  without a request, and never replaced by newcomers.
- The listen backlog is the system's maximum (``net.core.somaxconn``).
"""

import contextlib
import errno
import http.client
import io
import logging
import queue
import selectors
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus

from gateway.server_errors import envelope_body

logger = logging.getLogger(__name__)

HEAD_SECONDS = 5.0
BODY_SECONDS = 10.0
SEND_SECONDS = 10.0
MAX_HEAD_BYTES = 32 * 1024
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
HANDLERS = 64
# A handler thread idle this long ends (the pool grows again when calls wait).
HANDLER_IDLE_SECONDS = 10.0
_SWEEP_SECONDS = 0.25
# Accepted per round of the door, so that heads already read are admitted between
# batches and a connection is read before newcomers can push it out.
_ACCEPTS_PER_ROUND = 64
# Running out of file descriptors (or kernel memory) while accepting.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass
class Request:
    method: str
    path: str
    headers: Message
    # The body's declared length; -1 when it cannot be used (chunked, not a number).
    length: int
    keep_alive: bool
    body: bytes = b""
    # Set by ``admit``: the caller proved who it is; its connection may be kept.
    trusted: bool = False


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    trusted: bool = False


def _render(answer: Answer, *, keep: bool) -> bytes:
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {answer.status} {reason}",
        f"Content-Type: {answer.content_type}",
        f"Content-Length: {len(answer.body)}",
        "Connection: keep-alive" if keep else "Connection: close",
        *(f"{name}: {value}" for name, value in answer.headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body


def _framing_error(status: int, message: str) -> Answer:
    return Answer(status=status, body=envelope_body(status, message))


def parse_head(head: bytes) -> Request | Answer:
    """The request a head (without its blank line) describes, or the answer refusing it."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return _framing_error(400, "bad request line")
    method, path, version = parts
    try:
        headers = http.client.parse_headers(io.BytesIO(rest + b"\r\n\r\n"))
    except http.client.HTTPException:
        return _framing_error(431, "too many request headers")
    declared = headers.get("Content-Length")
    length = 0
    if headers.get("Transfer-Encoding") is not None:
        length = -1
    elif declared is not None:
        length = int(declared) if declared.isdigit() and len(declared) < 16 else -1
    connection = (headers.get("Connection") or "").lower()
    keep_alive = version == "HTTP/1.1" and connection != "close"
    return Request(method=method, path=path, headers=headers, length=length, keep_alive=keep_alive)


class Listener:
    def __init__(
        self,
        address: tuple[str, int],
        *,
        admit: Callable[[Request], Answer | None],
        answer: Callable[[Request], Answer],
        max_connections: int,
        handlers: int = HANDLERS,
        idle_seconds: float = 60.0,
        on_handler_exit: Callable[[], None] = lambda: None,
    ) -> None:
        """``admit(request)``: on the door thread, with the head only; an answer refuses
        the request (the connection is closed after it), None takes it. It must not
        block. ``answer(request)``: on a handler thread, with the body read."""
        self._admit = admit
        self._answer = answer
        self.max_connections = max_connections
        self._max_handlers = handlers
        self._idle_seconds = idle_seconds
        self._on_handler_exit = on_handler_exit
        self._sock = socket.create_server(address, backlog=BACKLOG)
        self._sock.setblocking(False)
        self.server_address: tuple[str, int] = self._sock.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        # Heads being read from callers not yet trusted, oldest first (their deadlines
        # are in the same order); trusted connections waiting for their next request.
        self._waiting: OrderedDict[_Connection, None] = OrderedDict()
        self._kept: set[_Connection] = set()
        self._busy = 0
        self._returned: queue.SimpleQueue[tuple[_Connection, bool]] = queue.SimpleQueue()
        self._accepting = False
        self._resume_accepting_at = 0.0
        self._out_of_resources_logged = False
        self._stopping = threading.Event()
        self._closed = False
        self._door: threading.Thread | None = None
        # The handler pool: grown as calls wait, up to ``handlers`` threads.
        self._jobs: queue.PriorityQueue[tuple[int, int, _Connection | None, Request | None]] = (
            queue.PriorityQueue()
        )
        self._pool_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._queued = 0
        self._sequence = 0

    # -- what tests and operators look at ------------------------------------------

    def held(self) -> int:
        """Connections held now: heads being read, kept between calls, being handled."""
        return len(self._waiting) + len(self._kept) + self._busy

    def handler_threads(self) -> int:
        return len(self._threads)

    # -- lifecycle -----------------------------------------------------------------

    def serve_in_thread(self) -> threading.Thread:
        self._door = threading.Thread(target=self.serve_forever, name="runner-door", daemon=True)
        self._door.start()
        return self._door

    def serve_forever(self) -> None:
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._start_accepting()
        next_sweep = time.monotonic() + _SWEEP_SECONDS
        while not self._stopping.is_set():
            events = self._selector.select(timeout=_SWEEP_SECONDS)
            accept = False
            for key, _mask in events:
                if key.fileobj is self._sock:
                    accept = True
                elif key.fileobj is self._wake_reader:
                    self._drain_wakes()
                else:
                    self._guarded(self._read, key.data)
            self._take_returned()
            if accept:
                self._accept()
            now = time.monotonic()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + _SWEEP_SECONDS
            resume = not self._accepting and now >= self._resume_accepting_at
            if resume and self.held() < self.max_connections:
                self._start_accepting()

    def shutdown(self) -> None:
        """Stops the door (connections being handled finish their call)."""
        self._stopping.set()
        self._wake()
        if self._door is not None:
            self._door.join(timeout=10)

    def close(self) -> None:
        """Closes the listening socket, every held connection and the handler pool."""
        self._closed = True
        self._stopping.set()
        self._sock.close()
        for conn in [*self._waiting, *self._kept]:
            conn.sock.close()
        self._waiting.clear()
        self._kept.clear()
        with self._pool_lock:
            threads = list(self._threads)
            for _ in threads:
                self._sequence += 1
                self._jobs.put((-1, self._sequence, None, None))
        for thread in threads:
            thread.join(timeout=10)
        self._take_returned()
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()

    # -- the door --------------------------------------------------------------------

    def _guarded(self, work: Callable[[_Connection], None], conn: _Connection) -> None:
        try:
            work(conn)
        except Exception:
            logger.exception("runner: dropping a connection after an unexpected error")
            self._drop(conn)

    def _start_accepting(self) -> None:
        self._selector.register(self._sock, selectors.EVENT_READ, None)
        self._accepting = True

    def _stop_accepting(self, *, for_seconds: float = 0.0) -> None:
        if self._accepting:
            self._selector.unregister(self._sock)
            self._accepting = False
        self._resume_accepting_at = time.monotonic() + for_seconds

    def _accept(self) -> None:
        for _ in range(_ACCEPTS_PER_ROUND):
            if self.held() >= self.max_connections and not self._waiting:
                # Every slot is a trusted connection or a call being handled: newcomers
                # wait in the backlog until one is let go.
                self._stop_accepting()
                return
            try:
                sock, _address = self._sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                if not self._out_of_resources_logged:
                    logger.warning(
                        "runner: cannot accept a connection (%s); letting the oldest "
                        "unsigned ones go (holding %d)",
                        exc.strerror,
                        self.held(),
                    )
                    self._out_of_resources_logged = True
                if not self._evict_oldest():
                    self._stop_accepting(for_seconds=_SWEEP_SECONDS)
                return
            self._out_of_resources_logged = False
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock=sock, deadline=time.monotonic() + HEAD_SECONDS)
            self._waiting[conn] = None
            self._selector.register(sock, selectors.EVENT_READ, conn)
            if self.held() > self.max_connections:
                self._evict_oldest()  # never the newcomer: others were waiting
            self._guarded(self._read, conn)  # the head is often there already

    def _evict_oldest(self) -> bool:
        if not self._waiting:
            return False
        oldest, _ = self._waiting.popitem(last=False)
        self._selector.unregister(oldest.sock)
        oldest.sock.close()
        return True

    def _read(self, conn: _Connection) -> None:
        want = MAX_HEAD_BYTES + 1 - len(conn.buffer)
        try:
            chunk = conn.sock.recv(max(want, 1))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not chunk:
            self._drop(conn)
            return
        if not conn.buffer and conn.trusted:
            conn.deadline = time.monotonic() + HEAD_SECONDS  # a request has begun
        conn.buffer += chunk
        self._take_head(conn)

    def _take_head(self, conn: _Connection) -> None:
        end = conn.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(conn.buffer) > MAX_HEAD_BYTES:
                self._refuse(conn, _framing_error(431, "request head too large"))
            return
        if end > MAX_HEAD_BYTES:
            self._refuse(conn, _framing_error(431, "request head too large"))
            return
        head = bytes(conn.buffer[:end])
        del conn.buffer[: end + 4]
        parsed = parse_head(head)
        if isinstance(parsed, Answer):
            self._refuse(conn, parsed)
            return
        refusal = self._admit(parsed)
        if refusal is not None:
            self._refuse(conn, refusal)
            return
        self._selector.unregister(conn.sock)
        self._waiting.pop(conn, None)
        self._kept.discard(conn)
        self._busy += 1
        self._submit(conn, parsed)

    def _refuse(self, conn: _Connection, answer: Answer) -> None:
        """Answers and closes, without waiting: what does not fit the socket's buffer at
        once is not sent."""
        with contextlib.suppress(OSError):
            conn.sock.send(_render(answer, keep=False))
        self._drop(conn)

    def _drop(self, conn: _Connection) -> None:
        self._waiting.pop(conn, None)
        self._kept.discard(conn)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()

    def _sweep(self, now: float) -> None:
        while self._waiting:
            oldest = next(iter(self._waiting))
            if oldest.deadline > now:
                break
            self._drop(oldest)
        for conn in [c for c in self._kept if c.deadline <= now]:
            self._drop(conn)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (its buffer is full) or closed
            self._wake_writer.send(b"\0")

    def _drain_wakes(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _take_returned(self) -> None:
        while True:
            try:
                conn, keep = self._returned.get_nowait()
            except queue.Empty:
                return
            self._busy -= 1
            if not keep or self._closed:
                conn.sock.close()
                continue
            conn.trusted = True
            conn.sock.setblocking(False)
            conn.deadline = time.monotonic() + (HEAD_SECONDS if conn.buffer else self._idle_seconds)
            self._kept.add(conn)
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            if conn.buffer:
                self._guarded(self._take_head, conn)

    # -- the handler pool ------------------------------------------------------------

    def _submit(self, conn: _Connection, request: Request) -> None:
        with self._pool_lock:
            self._queued += 1
            self._sequence += 1
            if self._queued > self._idle and len(self._threads) < self._max_handlers:
                thread = threading.Thread(
                    target=self._handle_jobs, name="runner-handler", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            # Trusted callers first: an unsigned health probe never delays a call.
            self._jobs.put((0 if request.trusted else 1, self._sequence, conn, request))

    def _handle_jobs(self) -> None:
        try:
            while True:
                with self._pool_lock:
                    self._idle += 1
                try:
                    _priority, _sequence, conn, request = self._jobs.get(
                        timeout=HANDLER_IDLE_SECONDS
                    )
                except queue.Empty:
                    with self._pool_lock:
                        # Gone only while another idle thread is there for each call
                        # queued meanwhile.
                        if self._queued < self._idle:
                            self._idle -= 1
                            self._threads.remove(threading.current_thread())
                            return
                        self._idle -= 1
                    continue
                with self._pool_lock:
                    self._idle -= 1
                    self._queued -= 1
                if conn is None or request is None:
                    return
                keep = self._handle(conn, request)
                self._returned.put((conn, keep))
                self._wake()
        finally:
            self._on_handler_exit()

    def _handle(self, conn: _Connection, request: Request) -> bool:
        """Reads the body, answers; whether the connection may be kept for another call."""
        sock = conn.sock
        try:
            request.body = self._read_body(conn, request.length)
        except (OSError, ConnectionError):
            return False
        try:
            answer = self._answer(request)
        except Exception:
            logger.exception("runner: answering %s %s failed", request.method, request.path)
            answer = _framing_error(500, "internal error in the session runner")
        keep = request.keep_alive and request.trusted and not self._closed
        try:
            sock.settimeout(SEND_SECONDS)
            sock.sendall(_render(answer, keep=keep))
        except OSError:
            return False
        return keep

    @staticmethod
    def _read_body(conn: _Connection, length: int) -> bytes:
        if length <= 0:
            return b""
        deadline = time.monotonic() + BODY_SECONDS
        body = conn.buffer[:length]
        del conn.buffer[:length]  # anything after it is the next request's
        while len(body) < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("body not received in time")
            conn.sock.settimeout(remaining)
            chunk = conn.sock.recv(min(256 * 1024, length - len(body)))
            if not chunk:
                raise ConnectionError("closed before the body was complete")
            body += chunk
        return bytes(body)

"""The runner's front door (``listener.Listener``) on loopback, with a tiny application:
a request is trusted when it carries ``X-Trusted: yes``; its answer echoes its body (or
waits on a gate, to hold handler threads). No Django, no runner: the door's own rules."""

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessions_app.runner import listener as door
from sessions_app.runner.listener import Answer, Listener, Request
from tests.processes import wait_for


class App:
    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.answering = 0
        self.most_answering = 0
        self._lock = threading.Lock()

    def admit(self, request: Request) -> Answer | None:
        if request.headers.get("X-Refuse"):
            return Answer(401, b'{"error":"no"}')
        request.trusted = request.headers.get("X-Trusted") == "yes"
        return None

    def answer(self, request: Request) -> Answer:
        with self._lock:
            self.answering += 1
            self.most_answering = max(self.most_answering, self.answering)
        self.gate.wait(10)
        with self._lock:
            self.answering -= 1
        return Answer(200, request.body or request.path.encode())


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def serve(app: App) -> Iterator:
    started: list[Listener] = []

    def make(max_connections: int = 64, handlers: int = 8) -> Listener:
        server = Listener(
            ("127.0.0.1", 0),
            admit=app.admit,
            answer=app.answer,
            max_connections=max_connections,
            handlers=handlers,
            idle_seconds=30,
        )
        server.serve_in_thread()
        started.append(server)
        return server

    yield make
    for server in started:
        server.shutdown()
        server.close()


def connect(server: Listener) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=5)


def call(sock: socket.socket, body: bytes = b"hi", *, trusted: bool = True) -> bytes:
    """One request on ``sock``; the answer's body."""
    head = (
        f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"X-Trusted: {'yes' if trusted else 'no'}\r\n\r\n"
    ).encode()
    sock.sendall(head + body)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed; got {answer!r}")
        answer += chunk
    head_bytes, _, rest = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head_bytes)[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest


def is_closed(sock: socket.socket, wait: float = 2.0) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_when_full_a_newcomer_replaces_the_oldest_connection_not_yet_trusted(serve):
    server = serve(max_connections=8)
    idle = [connect(server) for _ in range(8)]
    wait_for(lambda: server.held() == 8, "the door to hold 8")
    newcomer = connect(server)
    assert call(newcomer, b"in") == b"in"
    assert is_closed(idle[0])  # the oldest went
    assert not is_closed(idle[1], wait=0.3)  # the rest stay until their deadline
    assert server.held() <= 8


def test_a_trusted_connection_is_never_replaced_by_newcomers(serve):
    server = serve(max_connections=8)
    web = connect(server)
    assert call(web, b"one") == b"one"
    for _ in range(40):  # five times the cap of strangers
        connect(server).close()
        connect(server)
    assert call(web, b"two") == b"two"


def test_an_untrusted_request_is_answered_and_its_connection_closed(serve):
    server = serve()
    sock = connect(server)
    assert call(sock, b"x", trusted=False) == b"x"
    assert is_closed(sock)


def test_a_head_trickled_a_line_at_a_time_is_cut_at_the_total_deadline(serve, monkeypatch):
    monkeypatch.setattr(door, "HEAD_SECONDS", 1.0)
    server = serve()
    sock = connect(server)
    sock.sendall(b"POST /echo HTTP/1.1\r\n")
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 4:
        try:
            sock.sendall(b"X-Slow: 1\r\n")  # every 0.2 s: a per-read timeout never fires
        except OSError:
            closed = True
            break
        if is_closed(sock, wait=0.2):
            closed = True
            break
    assert closed
    assert time.monotonic() - started < 2.5


def test_a_refused_head_is_answered_without_reading_its_body(serve):
    server = serve()
    sock = connect(server)
    sock.sendall(b"POST /echo HTTP/1.1\r\nX-Refuse: 1\r\nContent-Length: 100000000\r\n\r\n")
    sock.settimeout(2)
    assert sock.recv(65536).startswith(b"HTTP/1.1 401 ")
    assert is_closed(sock)


def test_a_head_over_the_limit_is_431(serve):
    server = serve()
    sock = connect(server)
    sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (door.MAX_HEAD_BYTES + 10))
    sock.settimeout(2)
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"code": "validation_error"' in answer


def test_a_body_that_does_not_arrive_in_time_costs_the_connection(serve, monkeypatch):
    monkeypatch.setattr(door, "BODY_SECONDS", 0.5)
    server = serve()
    sock = connect(server)
    sock.sendall(b"POST /echo HTTP/1.1\r\nX-Trusted: yes\r\nContent-Length: 10\r\n\r\nabc")
    assert is_closed(sock, wait=3)
    wait_for(lambda: server.held() == 0, "the connection to be let go")


def test_calls_beyond_the_handler_pool_wait_and_are_all_answered(serve, app):
    server = serve(handlers=2)
    app.gate.clear()
    answers: list[bytes] = []

    def one(index: int) -> None:
        with connect(server) as sock:
            answers.append(call(sock, str(index).encode()))

    threads = [threading.Thread(target=one, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    wait_for(lambda: app.answering == 2, "two calls to be in hand")
    time.sleep(0.3)
    assert app.answering == 2 and server.handler_threads() == 2
    app.gate.set()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(answers) == [str(index).encode() for index in range(6)]
    assert app.most_answering == 2


def test_a_pipelined_second_request_is_answered_on_the_same_connection(serve):
    server = serve()
    sock = connect(server)
    two = (
        b"POST /echo HTTP/1.1\r\nX-Trusted: yes\r\nContent-Length: 3\r\n\r\none"
        b"POST /echo HTTP/1.1\r\nX-Trusted: yes\r\nContent-Length: 3\r\n\r\ntwo"
    )
    sock.sendall(two)
    received = b""
    sock.settimeout(5)
    while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"two"):
        received += sock.recv(65536)
    assert received.index(b"one") < received.index(b"two")


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (apt-get install iproute2)")
def test_the_listen_backlog_is_the_systems_maximum(serve):
    server = serve()
    port = server.server_address[1]
    ss = shutil.which("ss") or "ss"
    listing = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    # For a listening socket, ss shows the backlog as Send-Q.
    assert int(listing[2]) == min(door.BACKLOG, somaxconn) >= 1024

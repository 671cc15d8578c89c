"""Web → runner calls on kept (keep-alive) connections.

Against a real runner (`runsessions`): calls share one connection; a runner that died or
was restarted between calls costs nothing but a new connection; one killed with a call
on a kept connection is an unknown outcome (504), never "nothing happened" (503).

Against a scripted peer on loopback: the moment no check can see, a kept connection
closed by the runner just as a call goes out on it. The call is sent once more, byte for
byte; the runner's answer to that second copy decides what the client is told.
"""

import json
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from gateway import http
from gateway.exceptions import RunnerUnavailable, WhatsAppTimedOut
from groups_app.models import Group
from sessions_app.models import LiveActionRecord
from sessions_app.runner import client
from sessions_app.runner.protocol import NONCE_HEADER
from tests.certificates import self_signed
from tests.helpers import assert_error
from tests.processes import wait_for
from tests.runner_process import (
    ALICE,
    assert_cut_off_then_created_once_on_retry,
    start_with_a_connected_session,
    wait_until_connected_again,
)


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    client.forget_connections()
    yield
    client.forget_connections()


def kept_local_port(url: str) -> int | None:
    """The local port of this thread's kept connection to ``url``, if one is kept."""
    netloc = url.split("//", 1)[1]
    entry = client._connections._kept().get(netloc)
    return entry.sock.getsockname()[1] if entry else None


# -- a real runner --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_calls_share_one_connection(runner):
    runner.start()
    client.ping_runner(runner.url)
    first = kept_local_port(runner.url)
    for _ in range(5):
        client.ping_runner(runner.url)
    assert first is not None
    assert kept_local_port(runner.url) == first


@pytest.mark.django_db(transaction=True)
def test_a_ping_signed_with_another_secret_is_refused(runner, settings):
    runner.start()
    client.ping_runner(runner.url)
    settings.GATEWAY_RUNNER_SECRET = "not-the-shared-secret"
    with pytest.raises(RunnerUnavailable, match="SECRET_KEY"):
        client.ping_runner(runner.url)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_a_runner_restarted_between_calls_costs_a_new_connection_only(runner, api, org, stop):
    session = start_with_a_connected_session(runner, org)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    body = {"name": "Team", "participants": [ALICE]}
    assert api.post(groups_url, body, format="json").status_code == 201
    before = kept_local_port(runner.url)
    assert before is not None

    runner.kill() if stop == "kill" else runner.terminate()
    runner.start()
    wait_until_connected_again(runner, session)

    created = api.post(groups_url, body, format="json")
    assert created.status_code == 201, created.content
    assert kept_local_port(runner.url) not in (None, before)
    assert Group.objects.filter(session=session).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_runner_gone_between_calls_is_503_nothing_happened(runner, api, org):
    session = start_with_a_connected_session(runner, org)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    client.ping_runner(runner.url)  # a kept connection

    runner.kill()

    body = {"name": "Team", "participants": [ALICE]}
    assert_error(api.post(groups_url, body, format="json"), 503, "runner_unavailable")


@pytest.mark.django_db(transaction=True)
def test_a_runner_killed_with_a_call_on_a_kept_connection_is_an_unknown_outcome(runner, api, org):
    session = start_with_a_connected_session(runner, org)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    body = {"name": "Team", "participants": [ALICE]}
    answers: list = []
    pinged = threading.Event()

    def call() -> None:
        try:
            client.ping_runner(runner.url)  # this thread now keeps a connection
            pinged.set()
            time.sleep(0.3)
            answers.append(api.post(groups_url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-9"))
        finally:
            client.forget_connections()
            connection.close()

    caller = threading.Thread(target=call)
    caller.start()
    assert pinged.wait(timeout=10)
    assert runner.process is not None
    runner.process.send_signal(signal.SIGSTOP)  # the call will sit in its socket
    wait_for(
        lambda: LiveActionRecord.objects.filter(idempotency_key="k-9").exists(),
        "the call to be under way",
    )
    time.sleep(0.5)
    runner.kill()
    caller.join(timeout=30)

    assert_cut_off_then_created_once_on_retry(runner, api, session, answers, "k-9")


# -- a scripted peer: the moment between the check and the send ----------------------


class ScriptedPeer:
    """A loopback HTTP/1.1 peer that plays one scripted step per request it receives:
    ``answer`` (200 and keep the connection), ``close_unread`` (close as the request
    arrives, without reading it: an idle connection being closed), ``take_and_close``
    (read the request, close without answering: a runner dying mid-call),
    ``replayed`` (401 reason replayed), and ``stop`` (take the request, close, and stop
    listening: nobody there for the second copy)."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.received: list[bytes] = []
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.script:
            try:
                peer, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            self._converse(peer)

    def _converse(self, peer: socket.socket) -> None:
        with peer:
            while self.script:
                step = self.script[0]
                if step == "close_unread":
                    socket_ready(peer)
                    self.script.pop(0)
                    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    return
                request = read_request(peer)
                if request is None:  # the client let the connection go
                    return
                self.script.pop(0)
                self.received.append(request)
                if step in ("take_and_close", "stop"):
                    if step == "stop":
                        self._server.close()
                    return
                status, body = (
                    ("200 OK", {"result": {"n": len(self.received)}})
                    if step == "answer"
                    else (
                        "401 Unauthorized",
                        {"error": {"code": "unauthorized", "details": {"reason": "replayed"}}},
                    )
                )
                data = json.dumps(body).encode()
                peer.sendall(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )


def socket_ready(peer: socket.socket) -> None:
    import select

    select.select([peer], [], [], 10)


def read_request(peer: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = peer.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += peer.recv(65536)
    return head + b"\r\n\r\n" + rest


def nonce_of(request: bytes) -> bytes:
    return next(
        line
        for line in request.split(b"\r\n")
        if line.lower().startswith(NONCE_HEADER.lower().encode())
    )


def call_through(peer: ScriptedPeer) -> Callable[[], dict]:
    return lambda: client.call_runner(
        peer.url, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "create_group", {"name": "T"}, timeout=5
    )


def test_a_kept_connection_closed_as_the_call_goes_out_is_sent_again_and_answered():
    peer = ScriptedPeer(["answer", "close_unread", "answer"])
    call = call_through(peer)
    assert call() == {"n": 1}

    assert call() == {"n": 2}

    assert peer.connections == 2
    assert len(peer.received) == 2


def test_a_call_taken_then_dropped_and_refused_as_a_replay_is_an_unknown_outcome():
    peer = ScriptedPeer(["answer", "take_and_close", "replayed"])
    call = call_through(peer)
    call()

    with pytest.raises(WhatsAppTimedOut, match="outcome is unknown"):
        call()

    first, resent = peer.received[1], peer.received[2]
    assert resent == first  # the same bytes: the same nonce and signature
    assert nonce_of(resent) == nonce_of(first)


def test_a_call_taken_then_nobody_there_is_an_unknown_outcome_not_unreachable():
    peer = ScriptedPeer(["answer", "stop"])
    call = call_through(peer)
    call()

    with pytest.raises(WhatsAppTimedOut, match="outcome is unknown"):
        call()


def test_a_new_connection_dropped_after_sending_is_not_sent_again():
    peer = ScriptedPeer(["take_and_close", "answer"])

    with pytest.raises(WhatsAppTimedOut, match="outcome is unknown"):
        call_through(peer)()

    assert len(peer.received) == 1


def test_a_connection_idle_too_long_is_not_used_again():
    peer = ScriptedPeer(["answer", "answer", "answer"])
    pool = http.KeepAlivePool(idle_seconds=0.2)

    def post() -> None:
        assert http.post_json(peer.url + "/x", {}, timeout=5, pool=pool).status == 200

    post()
    post()
    assert peer.connections == 1
    time.sleep(0.3)
    post()
    assert peer.connections == 2


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        data = b'{"result": {"tls": true}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_an_https_runner_address_is_spoken_to_over_verified_tls(tmp_path, monkeypatch):
    cert_path, key_path = self_signed(tmp_path, "runner.test")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/x"
    try:
        # Not trusted: refused before anything is sent.
        with pytest.raises(http.OutboundError) as refused:
            http.post_json(url, {}, timeout=5)
        assert refused.value.unreachable

        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        pool = http.KeepAlivePool(idle_seconds=10)
        for _ in range(2):
            answer = http.post_json(url, {}, timeout=5, pool=pool)
            assert answer.body == {"result": {"tls": True}}
    finally:
        server.shutdown()

"""A real runner (`runsessions`, open-files limit 1,024 as `ulimit -n 1024`) under an
unauthenticated connection flood: 1,500 sockets that each send a request line and then
one header line every 2 s, reopened as soon as the runner lets them go.

Throughout, the web's signed calls succeed (on a kept connection and on new ones), the
session stays connected and the runner keeps its heartbeat; no flood socket is held past
the head deadline (a trickle does not reset it); afterwards the runner is back to the
descriptors and threads it had before.
"""

import os
import socket
import time
from pathlib import Path

import pytest

from sessions_app.models import SessionStatus
from sessions_app.runner import client
from sessions_app.runner.listener import HEAD_SECONDS
from sessions_app.runner.protocol import signed_headers
from sessions_app.runner.server import MAX_BODY
from tests.processes import wait_for
from tests.runner_process import start_with_a_connected_session, status_of
from tests.slow_clients import SlowClients

FLOOD = 1_500
OPEN_FILES = 1_024


def open_files_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no resident size")


def soft_open_files_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files limit")


def runner_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_slow_sockets_does_not_take_the_runner_down(runner, org):
    runner.open_files = OPEN_FILES
    session = start_with_a_connected_session(runner, org)
    assert soft_open_files_limit(runner.pid) == OPEN_FILES
    client.ping_runner(runner.url)  # a kept connection, as a web process has
    time.sleep(1)
    files_before, threads_before = open_files_of(runner.pid), threads_of(runner.pid)

    calls = new_connection_calls = 0
    most_files = 0
    with SlowClients(("127.0.0.1", runner_port(runner.url)), FLOOD, trickle_seconds=2) as flood:
        wait_for(lambda: flood.report.opened >= FLOOD, "the flood to open its sockets")
        deadline = time.monotonic() + 3 * HEAD_SECONDS
        while time.monotonic() < deadline:
            client.ping_runner(runner.url, timeout=5)  # raises if refused or unanswered
            calls += 1
            if calls % 3 == 0:
                client.forget_connections()  # the next call comes on a new connection
                new_connection_calls += 1
            most_files = max(most_files, open_files_of(runner.pid))
            assert runner.alive()
            assert status_of(session) == SessionStatus.CONNECTED
            time.sleep(0.1)
        report = flood.report

    assert calls > 50 and new_connection_calls > 15
    assert most_files < OPEN_FILES
    # The flood was really there: the runner let sockets go all along, each within the
    # head deadline (sockets trickling a line every 2 s, a per-read timeout of 5 s would
    # have kept them for ever).
    assert len(report.lifetimes) > FLOOD
    assert max(report.lifetimes) < HEAD_SECONDS + 2
    assert runner.live_sessions() == 1

    client.forget_connections()
    wait_for(
        lambda: (
            open_files_of(runner.pid) <= files_before and threads_of(runner.pid) <= threads_before
        ),
        "the runner to be back to its descriptors and threads",
        timeout=HEAD_SECONDS + 5,
    )
    assert "Traceback" not in runner.log.read_text()


@pytest.mark.django_db(transaction=True)
def test_unsigned_bodies_are_refused_before_they_are_read(runner):
    """300 connections announce the largest body the runner takes, with forged or no
    signature headers, and send none of it: each is refused at once (the answer comes
    without waiting for a byte of body), and the runner does not grow by their bodies."""
    runner.start()
    rss_before = rss_mib(runner.pid)
    path = "/v1/ping"
    forged = signed_headers("POST", path, b"{}")
    forged["X-Gateway-Signature"] = "0" * 64
    socks = []
    for index in range(300):
        sock = socket.create_connection(("127.0.0.1", runner_port(runner.url)), timeout=5)
        headers = forged if index % 2 else {}
        head = f"POST {path} HTTP/1.1\r\nHost: runner\r\nContent-Length: {MAX_BODY}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(head.encode() + b"\r\n")
        socks.append((sock, "bad_signature" if index % 2 else "unsigned"))
    for sock, reason in socks:
        answer = sock.recv(65536).decode()
        assert answer.startswith("HTTP/1.1 401 "), answer
        assert f'"reason": "{reason}"' in answer
        assert sock.recv(1) == b""  # and closed
        sock.close()
    assert rss_mib(runner.pid) < rss_before + 20

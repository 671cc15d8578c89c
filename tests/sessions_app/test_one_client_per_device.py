"""Exactly one client may hold a WhatsApp device: never two worker processes for one
session, whatever starts, stops or pauses them. A real runner, real workers on the real
neonize library, dialling a loopback proxy that never answers."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from sessions_app.models import Engine, SessionLease, WhatsAppSession
from sessions_app.runner.client import forget_connections
from sessions_app.worker import LEASE_EXPIRED
from tests.factories import WhatsAppSessionFactory
from tests.processes import wait_for
from tests.worker_processes import Census, alive, workers_of


def reason_of(session: WhatsAppSession) -> str:
    session.refresh_from_db()
    return session.status_reason


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_by_a_live_call_outlives_the_calls_connection(make_runner, api, org):
    """The kernel's parent-death signal follows the thread that forked the worker: one
    forked by the HTTP handler serving POST /connect died when that connection closed."""
    # Only the live call starts the worker; its lease outlasts the test (the loop, which
    # would renew it, does not run).
    runner = make_runner("hold", interval=600, GATEWAY_RUNNER_LEASE_SECONDS="120")
    runner.start()
    session = WhatsAppSessionFactory(organization=org, engine=Engine.WHATSAPP, fresh=True)
    answer = api.post(f"/api/v1/sessions/{session.id}/connect", HTTP_X_REQUEST_ID="connect-1")
    assert answer.status_code == 202, answer.content
    # The worker is up (it asked for its parent-death signal before reporting this).
    wait_for(lambda: reason_of(session) == "connecting to WhatsApp", "the worker", timeout=30)
    pid = workers_of(runner.pid)[session.id]
    threads = threads_of(runner.pid)
    # Started while serving the call (its request id), not by the runner's own loop.
    started = [
        json.loads(line)
        for line in Path(runner.log).read_text().splitlines()
        if "worker started" in line
    ]
    assert [entry["request_id"] for entry in started] == ["connect-1"]

    forget_connections()  # the web closes its kept connection; the idle handler thread ends
    wait_for(lambda: threads_of(runner.pid) < threads, "the handler's thread to end")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert alive(pid), "the worker died with the thread that started it"
        time.sleep(0.1)
    assert workers_of(runner.pid) == {session.id: pid}


@pytest.mark.django_db(transaction=True)
def test_no_second_worker_while_the_first_is_slow_to_exit(make_runner, api, org):
    """The runner stops a worker that does not go (stopped, so it cannot): it waits, then
    kills it. A connect in between must not start a second process on the same device."""
    session = WhatsAppSessionFactory(
        organization=org, engine=Engine.WHATSAPP, fresh=True, desired_connected=True
    )
    runner = make_runner("hold")
    runner.start()
    wait_for(lambda: session.id in workers_of(runner.pid), "the worker", timeout=30)
    first = workers_of(runner.pid)[session.id]
    census = Census({session.id})
    try:
        os.kill(first, signal.SIGSTOP)  # asked to stop, it will not: the runner must wait
        WhatsAppSession.objects.filter(pk=session.id).update(desired_connected=False)
        wait_for(lambda: runner.live_sessions() == 0, "the runner to be stopping it")
        assert alive(first)
        # Wanted again while the first worker is still there.
        answer = api.post(f"/api/v1/sessions/{session.id}/connect")
        assert answer.status_code == 202, answer.content
        wait_for(lambda: not alive(first), "the first worker to be killed", timeout=15)
        wait_for(lambda: len(census.seen[session.id]) == 2, "a new worker", timeout=30)
        time.sleep(1)  # and the census keeps counting while it starts
        # A loaded machine samples slower: count on until the census has seen enough.
        wait_for(lambda: census.samples > 50, "50 census samples", timeout=30)
    finally:
        census.stop()
    assert census.samples > 50
    assert census.overlaps == [], census.overlaps
    assert len(census.seen[session.id]) == 2  # the first, then exactly one more
    assert not alive(first)


@pytest.mark.django_db(transaction=True)
def test_a_paused_runners_worker_disconnects_before_its_lease_expires(make_runner, org):
    """A runner frozen by SIGSTOP cannot stop its workers: each stops itself once the
    runner has not confirmed its lease in time, before another runner could claim it."""
    session = WhatsAppSessionFactory(
        organization=org, engine=Engine.WHATSAPP, fresh=True, desired_connected=True
    )
    runner = make_runner("hold", GATEWAY_RUNNER_LEASE_SECONDS="6")
    runner.start()
    wait_for(lambda: session.id in workers_of(runner.pid), "the worker", timeout=30)
    pid = workers_of(runner.pid)[session.id]
    os.kill(runner.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: not alive(pid), "the worker to stop by itself", timeout=10)
        gone_at = time.time()
        expires_at = SessionLease.objects.get(session_id=session.id).expires_at.timestamp()
        assert gone_at < expires_at, f"the worker outlived the lease by {gone_at - expires_at}s"
    finally:
        os.kill(runner.pid, signal.SIGCONT)
    assert LEASE_EXPIRED in Path(runner.log).read_text()
    # Resumed, the runner renews the lease nobody took and connects the session again.
    wait_for(lambda: session.id in workers_of(runner.pid), "a new worker", timeout=30)
    assert workers_of(runner.pid)[session.id] != pid

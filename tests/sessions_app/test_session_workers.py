"""Session workers for real: the runner as a subprocess, each whatsapp session in a
worker process of its own running the real neonize library, offline. Every dial goes to
an HTTPS proxy on loopback (whatsmeow honours HTTPS_PROXY) that never answers — or that
hangs up at once, for sessions that must keep redialling — so nothing leaves the machine.
"""

import os
import signal
import threading
import time
from datetime import datetime

import pytest
from django.utils import timezone

from sessions_app.models import Engine, SessionStatus, WhatsAppSession
from tests.factories import WhatsAppSessionFactory
from tests.processes import wait_for
from tests.worker_processes import Census, alive, workers_of

ALICE = "15551230001@s.whatsapp.net"


def whatsapp_sessions(org, count: int) -> list[WhatsAppSession]:
    return [
        WhatsAppSessionFactory(
            organization=org, engine=Engine.WHATSAPP, fresh=True, desired_connected=True
        )
        for _ in range(count)
    ]


def reason_of(session: WhatsAppSession) -> str:
    session.refresh_from_db()
    return session.status_reason


def next_retry_of(session: WhatsAppSession) -> datetime | None:
    session.refresh_from_db()
    return session.next_retry_at


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_takes_down_its_session_only(make_runner, api, org):
    numbers = whatsapp_sessions(org, 3)
    sandbox = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    runner = make_runner("hold")
    runner.start()
    wait_for(lambda: len(workers_of(runner.pid)) == 3, "three workers", timeout=60)
    before = workers_of(runner.pid)
    assert set(before) == {session.id for session in numbers}
    assert sandbox.id not in before  # a sandbox needs no worker

    victim = numbers[0]
    os.kill(before[victim.id], signal.SIGKILL)
    killed_at = timezone.now()
    wait_for(lambda: "killed by SIGKILL" in reason_of(victim), "the death to be recorded")
    assert victim.status == SessionStatus.DISCONNECTED
    # The admin's "next retry": the first backoff (2 s) from the death, in wall-clock time.
    wait_for(lambda: next_retry_of(victim) is not None, "the next retry to be recorded")
    wait = (next_retry_of(victim) - killed_at).total_seconds()
    assert 1 <= wait <= 10, wait

    # The runner and the other workers live on; the sandbox keeps serving.
    assert runner.alive()
    for session in numbers[1:]:
        assert alive(before[session.id])
    created = api.post(
        f"/api/v1/sessions/{sandbox.id}/groups",
        {"name": "Still here", "participants": [ALICE]},
        format="json",
    )
    assert created.status_code == 201, created.content

    # The killed session comes back in a new process, after its backoff.
    wait_for(
        lambda: workers_of(runner.pid).get(victim.id, before[victim.id]) != before[victim.id],
        "the worker to be restarted",
        timeout=30,
    )
    after = workers_of(runner.pid)
    assert {session.id: after[session.id] for session in numbers[1:]} == {
        session.id: before[session.id] for session in numbers[1:]
    }
    assert runner.alive()


@pytest.mark.django_db(transaction=True)
def test_sigterm_ends_every_worker_within_ten_seconds(make_runner, org):
    """Workers whose neonize connect thread is stuck in a dial (not a daemon thread, in
    Go) still go: the worker leaves with os._exit after a short grace."""
    whatsapp_sessions(org, 3)
    runner = make_runner("hold")
    runner.start()
    wait_for(lambda: len(workers_of(runner.pid)) == 3, "three workers", timeout=60)
    pids = list(workers_of(runner.pid).values())
    started = time.monotonic()
    assert runner.terminate() == 0
    wait_for(lambda: not any(alive(pid) for pid in pids), "every worker to end", timeout=10)
    assert time.monotonic() - started < 10
    assert set(WhatsAppSession.objects.values_list("status_reason", flat=True)) == {
        "the session runner stopped"
    }


@pytest.mark.django_db(transaction=True)
def test_a_runner_killed_with_sigkill_leaves_no_worker_behind(make_runner, org):
    whatsapp_sessions(org, 2)
    runner = make_runner("hold")
    runner.start()
    wait_for(lambda: len(workers_of(runner.pid)) == 2, "two workers", timeout=60)
    pids = list(workers_of(runner.pid).values())
    runner.kill()
    wait_for(lambda: not any(alive(pid) for pid in pids), "the orphans to die", timeout=10)


@pytest.mark.soak
@pytest.mark.django_db(transaction=True)
def test_each_attempt_runs_in_a_new_process_and_none_aborts(make_runner, org):
    """Two real-neonize sessions for 60 s (``make soak``): both redial (the proxy hangs up
    on every dial, so each attempt fails and the runner retries it with backoff) while
    the runner is called for one all along, over its own protocol, so every call reaches
    the worker or the supervisor. In one process this aborted within a minute
    (concurrent map access in neonize's Go side); a finished client's finalizer stopped
    its successor. Each attempt now has a process of its own: every worker ends cleanly,
    none is killed or aborts, and every call is answered for what it met."""
    from gateway.exceptions import GatewayError
    from sessions_app.runner.client import call_runner

    calling, redialling = whatsapp_sessions(org, 2)
    runner = make_runner("hang_up")
    runner.start()
    # Counted on a thread of its own: a call waits while a worker starts up.
    census = Census({calling.id, redialling.id})
    seen = census.seen
    answers: list[tuple[str, dict]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            call_runner(runner.url, calling.id, "sync_groups", {}, timeout=10)
        except GatewayError as exc:
            answers.append((exc.code, exc.details))
        else:
            answers.append(("ok", {}))
        time.sleep(0.2)
    census.stop()
    assert census.overlaps == []
    assert runner.alive()
    log = runner.log.read_text()
    assert "fatal error" not in log and "concurrent map" not in log
    assert "worker died" not in log
    for session in (calling, redialling):
        session.refresh_from_db()
        assert "died" not in session.status_reason
        assert len(seen[session.id]) >= 3, seen  # a new process for every attempt
    # The session never connects: each call is told so (501), except one that a worker
    # was running as its attempt ended, whose outcome is unknown (504, and why).
    codes = [code for code, _ in answers]
    assert len(answers) > 100 and codes.count("not_implemented") >= len(answers) * 0.9, codes
    for code, details in answers:
        if code != "not_implemented":
            assert code == "whatsapp_timeout" and "worker" in details, (code, details)


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_mid_action_answers_504(make_runner, api, org, settings):
    """The call reached the worker, which was then killed: it may have acted, so the
    answer is 504 (outcome unknown) and the Idempotency-Key is kept for a careful retry."""
    from sessions_app.models import ActionState, LiveActionRecord

    (number,) = whatsapp_sessions(org, 1)
    runner = make_runner("hold")
    runner.start()
    wait_for(lambda: number.id in workers_of(runner.pid), "the worker", timeout=60)
    pid = workers_of(runner.pid)[number.id]
    os.kill(pid, signal.SIGSTOP)  # it takes the call but never answers
    # As if it had connected just before (the web side asks only connected sessions).
    WhatsAppSession.objects.filter(pk=number.id).update(status=SessionStatus.CONNECTED)
    answers: list = []

    def call() -> None:
        from django.db import connection

        try:
            url = f"/api/v1/sessions/{number.id}/groups/sync"
            answers.append(api.post(url, HTTP_IDEMPOTENCY_KEY="mid-1"))
        finally:
            connection.close()

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.0)  # the call is in the worker's pipe
    os.kill(pid, signal.SIGKILL)
    caller.join(timeout=30)
    assert answers, "the call did not finish"
    assert answers[0].status_code == 504, answers[0].content
    assert answers[0].json()["error"]["code"] == "whatsapp_timeout"
    assert LiveActionRecord.objects.get(idempotency_key="mid-1").state == ActionState.UNKNOWN
    assert runner.alive()

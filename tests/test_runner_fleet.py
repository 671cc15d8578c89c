"""Several runners on PostgreSQL: each session held by exactly one, failover on kill -9
and SIGTERM, a newcomer takes its share, a paused runner's stale token writes nothing."""

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from sessions_app.leases import Fence, claim, db_now
from sessions_app.models import Engine, SessionLease, SessionStatus, WhatsAppSession
from sessions_app.models import Runner as RunnerRow
from sessions_app.runner.sink import DatabaseSink
from tests.factories import WhatsAppSessionFactory
from tests.processes import database_url, free_port, wait_for
from tests.runner_process import Runner
from tests.worker_processes import Census, Proxy, alive, worker_processes

ALICE = "15551230001@s.whatsapp.net"
LEASE_SECONDS = 3

pytestmark = pytest.mark.skipif(
    not database_url().startswith("postgres"),
    reason="a fleet of runners runs on PostgreSQL (DATABASE_URL=postgres://…)",
)


@pytest.fixture
def fleet(settings, tmp_path) -> Iterator:
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_LEASE_SECONDS = LEASE_SECONDS
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    runners: list[Runner] = []

    def start(name: str) -> Runner:
        url = f"http://127.0.0.1:{free_port()}"
        runner = Runner(
            url,
            tmp_path / f"{name}.log",
            GATEWAY_RUNNER_ID=name,
            GATEWAY_RUNNER_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        if runner.process and runner.process.poll() is None:
            runner.process.send_signal(signal.SIGCONT)
        runner.kill()


def held_by(runners: list[Runner]) -> dict[str, list[str]]:
    """Session id → the runners that have it live right now (asked over HTTP)."""
    holders: dict[str, list[str]] = {}
    for runner in runners:
        if not runner.alive():
            continue
        try:
            sessions = requests.get(f"{runner.url}/healthz", timeout=2).json()["sessions"]
        except requests.RequestException:
            continue
        for session_id in sessions:
            holders.setdefault(session_id, []).append(runner.url)
    return holders


class Watch:
    """Samples the runners all along: no session may ever be live in two at once."""

    def __init__(self, runners: list[Runner]) -> None:
        self.runners = runners
        self.doubles: list[dict[str, list[str]]] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            doubled = {sid: urls for sid, urls in held_by(self.runners).items() if len(urls) > 1}
            if doubled:
                self.doubles.append(doubled)
            self.samples += 1
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def all_served(runners: list[Runner], session_ids: set[str]) -> bool:
    holders = held_by(runners)
    return set(holders) >= session_ids and all(len(holders[sid]) == 1 for sid in session_ids)


@pytest.mark.django_db(transaction=True)
def test_a_fleet_holds_each_session_once_and_survives_losing_runners(fleet, org, api):
    sessions = [
        WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
        for _ in range(30)
    ]
    ids = {session.id for session in sessions}
    runners = [fleet("r1"), fleet("r2"), fleet("r3")]
    watch = Watch(runners)
    try:
        wait_for(lambda: all_served(runners, ids), "every session to be held", timeout=30)
        wait_for(
            lambda: WhatsAppSession.objects.filter(status=SessionStatus.CONNECTED).count() == 30,
            "every session connected",
        )
        # Shared out: each runner holds some.
        wait_for(
            lambda: all(
                any(runner.url in urls for urls in held_by(runners).values()) for runner in runners
            ),
            "each runner to hold a share",
            timeout=2 * LEASE_SECONDS + 5,
        )
        for session in sessions:
            response = api.post(
                f"/api/v1/sessions/{session.id}/groups",
                {"name": "Team", "participants": [ALICE]},
                format="json",
            )
            assert response.status_code == 201, response.content

        # kill -9: its leases expire, the others take over.
        killed = runners[0]
        held_before = {sid for sid, urls in held_by(runners).items() if killed.url in urls}
        assert held_before
        killed.kill()
        started = time.monotonic()
        wait_for(
            lambda: all_served(runners, ids), "failover after kill -9", timeout=LEASE_SECONDS + 5
        )
        assert time.monotonic() - started <= LEASE_SECONDS + 5

        # SIGTERM: it hands its sessions back; others take them within 2 s.
        leaving = runners[1]
        assert leaving.terminate() == 0
        started = time.monotonic()
        wait_for(lambda: all_served(runners, ids), "takeover after SIGTERM", timeout=2)
        assert time.monotonic() - started <= 2
        # The leaving runner wrote "disconnected" for what it held; the new holders'
        # workers write "connected" once they are (until then a live call is a 501).
        wait_for(
            lambda: WhatsAppSession.objects.filter(status=SessionStatus.CONNECTED).count() == 30,
            "every session connected again after the handover",
        )
        for session in sessions[:10]:
            response = api.post(
                f"/api/v1/sessions/{session.id}/groups",
                {"name": "After", "participants": [ALICE]},
                format="json",
            )
            assert response.status_code == 201, response.content

        # A newcomer takes a share from the survivor, without a double.
        newcomer = fleet("r4")
        runners.append(newcomer)
        wait_for(
            lambda: any(newcomer.url in urls for urls in held_by(runners).values()),
            "the newcomer to take a share",
            timeout=2 * LEASE_SECONDS + 5,
        )
        wait_for(lambda: all_served(runners, ids), "everything served", timeout=10)
    finally:
        watch.stop()
    assert watch.samples > 20
    assert watch.doubles == [], watch.doubles[:3]
    assert SessionLease.objects.count() == 30


@pytest.mark.django_db(transaction=True)
def test_a_paused_runner_loses_its_sessions_and_writes_nothing(fleet, org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    first = fleet("paused")
    wait_for(lambda: all_served([first], {session.id}), "the first runner to hold it")
    token_before = SessionLease.objects.get(session=session).token
    assert first.process is not None
    first.process.send_signal(signal.SIGSTOP)  # past its lease
    second = fleet("second")
    wait_for(
        lambda: second.url in held_by([second]).get(session.id, []),
        "the second runner to take it over",
        timeout=LEASE_SECONDS + 5,
    )
    assert SessionLease.objects.get(session=session).token > token_before
    first.process.send_signal(signal.SIGCONT)
    # On waking it finds its lease gone and stops the session at once.
    wait_for(lambda: session.id not in held_by([first]), "the paused runner to let go", timeout=5)
    assert held_by([first, second])[session.id] == [second.url]
    lease = SessionLease.objects.get(session=session)
    assert lease.runner_id == "second"


@pytest.mark.django_db(transaction=True)
def test_a_stale_token_changes_nothing(org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    (token,) = claim(runner_id="a", url="http://a", lease_seconds=30, limit=1).values()
    stale = DatabaseSink(session.id, fence=Fence("a", token))
    # Runner a's lease expires and runner b claims the session.
    SessionLease.objects.filter(session=session).update(expires_at=db_now())
    (new_token,) = claim(runner_id="b", url="http://b", lease_seconds=30, limit=1).values()
    assert new_token == token + 1
    current = DatabaseSink(session.id, fence=Fence("b", new_token))

    current.status(SessionStatus.CONNECTED, "held by b")
    stale.status(SessionStatus.LOGGED_OUT, "stale report")
    stale.groups([], complete=True)
    session.refresh_from_db()
    assert (session.status, session.status_reason) == (SessionStatus.CONNECTED, "held by b")
    assert session.desired_connected is True
    assert not session.events.filter(reason="stale report").exists()


WORKER_LEASE_SECONDS = 6


@pytest.fixture
def worker_fleet(settings, tmp_path) -> Iterator:
    """``start(name)``: a runner of the fleet whose whatsapp sessions run in real worker
    processes (real neonize, dialling a loopback proxy that never answers)."""
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_LEASE_SECONDS = WORKER_LEASE_SECONDS
    proxy = Proxy("hold")
    runners: list[Runner] = []

    def start(name: str) -> Runner:
        runner = Runner(
            f"http://127.0.0.1:{free_port()}",
            tmp_path / f"{name}.log",
            GATEWAY_RUNNER_ID=name,
            GATEWAY_RUNNER_LEASE_SECONDS=str(WORKER_LEASE_SECONDS),
            GATEWAY_DEVICE_STORE="sqlite",
            HTTPS_PROXY=proxy.url,
            HTTP_PROXY=proxy.url,
        )
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        if runner.alive():
            runner.process.send_signal(signal.SIGCONT)
        runner.kill()
    proxy.close()


def workers_by_runner(runners: list[Runner]) -> dict[int, set[str]]:
    """Runner pid → the sessions it has a worker process for."""
    found: dict[int, set[str]] = {runner.pid: set() for runner in runners}
    for _, session_id, parent in worker_processes():
        if parent in found:
            found[parent].add(session_id)
    return found


def every_session_has_a_worker(runners: list[Runner], ids: set[str]) -> bool:
    held = [sid for sessions in workers_by_runner(runners).values() for sid in sessions]
    return sorted(held) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_never_two_worker_processes_for_one_device_across_runners(worker_fleet, org):
    """Sampled every 0.1 s across both runners' worker processes, through a runner paused
    past its leases (SIGSTOP), one killed with -9, one stopped with SIGTERM while one of
    its workers is slow to exit: no session ever has two processes."""
    sessions = [
        WhatsAppSessionFactory(
            organization=org, engine=Engine.WHATSAPP, fresh=True, desired_connected=True
        )
        for _ in range(4)
    ]
    ids = {session.id for session in sessions}
    census = Census(ids)
    try:
        a, b = worker_fleet("a"), worker_fleet("b")
        wait_for(lambda: every_session_has_a_worker([a, b], ids), "a worker each", timeout=60)
        wait_for(lambda: all(workers_by_runner([a, b]).values()), "both runners to hold some", 60)

        # 1. Paused past its leases: a's workers stop themselves before b takes over.
        paused = workers_by_runner([a])[a.pid]
        a.process.send_signal(signal.SIGSTOP)
        wait_for(
            lambda: workers_by_runner([b])[b.pid] == ids,
            "b to hold every session",
            timeout=4 * WORKER_LEASE_SECONDS,
        )
        assert paused and workers_by_runner([a])[a.pid] == set()
        a.process.send_signal(signal.SIGCONT)
        # Awake, a finds its leases gone; it takes a share back only as b hands it over.
        wait_for(lambda: all(workers_by_runner([a, b]).values()), "a share for a again", 60)
        wait_for(lambda: every_session_has_a_worker([a, b], ids), "a worker each", timeout=60)

        # 2. kill -9: a's workers die with it; b takes over once the leases expire.
        a.kill()
        wait_for(
            lambda: workers_by_runner([b])[b.pid] == ids,
            "b to take over from the killed runner",
            timeout=4 * WORKER_LEASE_SECONDS,
        )

        # 3. SIGTERM while one of b's workers does not go when asked: b waits for it (then
        # kills it) before it lets the lease go to the newcomer.
        c = worker_fleet("c")
        wait_for(lambda: all(workers_by_runner([b, c]).values()), "a share for c", 60)
        slow = next(pid for pid, _, parent in worker_processes() if parent == b.pid)
        os.kill(slow, signal.SIGSTOP)
        assert b.terminate() == 0
        assert not alive(slow)
        wait_for(
            lambda: workers_by_runner([c])[c.pid] == ids,
            "c to hold every session",
            timeout=4 * WORKER_LEASE_SECONDS,
        )
    finally:
        census.stop()
    assert census.samples > 100
    assert census.overlaps == [], census.overlaps[:3]
    # Each session moved at least once: the sampling saw more than one process for it.
    assert all(len(pids) >= 2 for pids in census.seen.values()), census.seen


@pytest.mark.django_db(transaction=True)
def test_a_stalled_database_cannot_hold_the_runners_loop(fleet, org):
    """The lease table locked elsewhere: without a statement timeout the runner's renewal
    waits for as long as the lock is held, and its loop with it. With one, the statement
    fails within a third of a lease, the loop says so and goes on."""
    import psycopg

    WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    runner = fleet("stalled")
    wait_for(lambda: SessionLease.objects.filter(runner_id="stalled").exists(), "the lease")
    table = SessionLease._meta.db_table
    with psycopg.connect(database_url()) as locker:
        locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        wait_for(
            lambda: "canceling statement due to statement timeout" in runner.log.read_text(),
            "the runner's statement to time out",
            timeout=LEASE_SECONDS * 3,
        )
    # The lock is gone: the loop works again (its heartbeat moves on).
    seen = db_now()
    wait_for(
        lambda: RunnerRow.objects.get(pk="stalled").heartbeat_at > seen,
        "a heartbeat after the stall",
        10,
    )


@pytest.mark.django_db(transaction=True)
def test_a_killed_runners_session_reads_the_outage_and_the_recovery(fleet, org, api):
    """kill -9 of the holder: nobody writes its session's status, yet readers are told it
    is not connected once the lease has expired; the runner that takes it over says from
    whom, and "connected since" is the start of the new connection."""
    from sessions_app.models import SessionEvent

    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    first = fleet("first")
    wait_for(lambda: all_served([first], {session.id}), "the first runner to hold it")
    url = f"/api/v1/sessions/{session.id}"
    wait_for(lambda: api.get(url).json()["status"] == "connected", "connected")
    before = api.get(url).json()["connectedAt"]
    second = fleet("second")  # one session, two runners: the first keeps its share
    wait_for(lambda: RunnerRow.objects.filter(pk="second").exists(), "the second runner")
    assert SessionLease.objects.get(session=session).runner_id == "first"

    # The second runner is held still while the first dies, so the outage is there to be
    # read (left to run, it may take the session over in the instant the lease expires).
    assert second.process is not None
    second.process.send_signal(signal.SIGSTOP)
    first.kill()
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + LEASE_SECONDS + 15
    while time.monotonic() < deadline:
        shown = api.get(url).json()
        seen.append((shown["status"], shown["statusReason"]))
        if shown["status"] == "disconnected":
            break
        time.sleep(0.05)
    statuses = [status for status, _ in seen]
    assert "disconnected" in statuses, sorted(set(seen))  # the outage, while nobody held it
    outage = next(reason for status, reason in seen if status == "disconnected")
    assert "(first) stopped renewing its lease" in outage
    second.process.send_signal(signal.SIGCONT)
    wait_for(
        lambda: (
            api.get(url).json()["connectedAt"] not in (None, before)
            and api.get(url).json()["status"] == "connected"
        ),
        "the second runner to take it over",
        timeout=LEASE_SECONDS + 30,
    )
    after = api.get(url).json()["connectedAt"]
    assert after > before
    assert SessionLease.objects.get(session=session).runner_id == "second"
    assert SessionEvent.objects.filter(
        session=session, reason="taken over from runner first, which stopped renewing its lease"
    ).exists()
    assert second.alive()

"""The runner's loop as steps: no sleeping, no subprocess; a real fleet membership, a
real supervisor and the test database."""

import errno

import pytest
from django.utils import timezone

from sessions_app.engines.sandbox import SandboxLiveSession
from sessions_app.models import Runner, SessionLease, SessionStatus, WhatsAppSession
from sessions_app.runner.engines import live_session_for
from sessions_app.runner.fleet import FleetConfig, FleetMember
from sessions_app.runner.loop import RunnerLoop
from sessions_app.runner.supervisor import Supervisor
from tests.factories import WhatsAppSessionFactory
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def member() -> FleetMember:
    return FleetMember(
        FleetConfig("loop-test", "http://127.0.0.1:1", capacity=10, lease_seconds=30)
    )


def status_of(session: WhatsAppSession) -> str:
    session.refresh_from_db()
    return session.status


def test_a_step_runs_what_the_runner_holds_and_lets_go_of_the_rest(member, org):
    first, second = (
        WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
        for _ in range(2)
    )
    supervisor = Supervisor(allow_whatsapp=False, fleet=member)
    loop = RunnerLoop(member=member, supervisor=supervisor)
    try:
        assert loop.step() is True
        assert supervisor.live_ids() == {first.id, second.id}
        assert SessionLease.objects.filter(runner_id="loop-test").count() == 2
        assert status_of(first) == SessionStatus.CONNECTED

        WhatsAppSession.objects.filter(pk=second.pk).update(desired_connected=False)
        assert loop.step() is True
        assert supervisor.live_ids() == {first.id}
        # Stopped off the loop; its lease goes back once it is stopped.
        wait_for(
            lambda: not SessionLease.objects.filter(session_id=second.id).exists(),
            "the lease to be released",
        )
    finally:
        supervisor.stop_all(record=False)


def test_a_worker_the_system_refuses_costs_its_session_only(member, org):
    """Too many open files while starting one session: it waits out a backoff with the
    reason shown; the step goes on and starts the others."""
    refused, fine = (
        WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
        for _ in range(2)
    )

    class Refused(SandboxLiveSession):
        def start(self) -> None:
            raise OSError(errno.EMFILE, "Too many open files")

    def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
        if session.id == refused.id:
            return Refused(session_id=session.id, name=session.name, sink=sink, on_ended=on_ended)
        return live_session_for(session, sink=sink, on_ended=on_ended, allow_whatsapp=False)

    supervisor = Supervisor(allow_whatsapp=False, fleet=member, factory=factory)
    loop = RunnerLoop(member=member, supervisor=supervisor)
    try:
        assert loop.step() is True
        assert supervisor.live_ids() == {fine.id}
        assert supervisor.retry_at(refused.id) is not None
        refused.refresh_from_db()
        assert refused.status == SessionStatus.DISCONNECTED
        assert "Too many open files" in refused.status_reason
        assert status_of(fine) == SessionStatus.CONNECTED
    finally:
        supervisor.stop_all(record=False)


def test_a_failing_session_shows_when_it_is_retried_and_forgets_it_once_connected(member, org):
    """The backoff is in the runner's memory; the session row carries its wall-clock
    time for the admin (2 s after a first failure), cleared by the connection."""
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    refusing = [True]
    now = [1000.0]

    class Refused(SandboxLiveSession):
        def start(self) -> None:
            raise OSError(errno.EMFILE, "Too many open files")

    def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
        kind = Refused if refusing[0] else SandboxLiveSession
        return kind(session_id=session.id, name=session.name, sink=sink, on_ended=on_ended)

    supervisor = Supervisor(
        allow_whatsapp=False, fleet=member, factory=factory, clock=lambda: now[0]
    )
    loop = RunnerLoop(member=member, supervisor=supervisor)
    try:
        before = timezone.now()
        loop.step()
        session.refresh_from_db()
        assert session.next_retry_at is not None
        wait = (session.next_retry_at - before).total_seconds()
        assert 1.5 <= wait <= 3.5  # backoff_delay(1) == 2 s

        refusing[0] = False
        loop.step()  # not due yet: still refused, nothing started
        assert supervisor.live_ids() == set()
        now[0] += 3
        loop.step()
        assert status_of(session) == SessionStatus.CONNECTED
        assert session.next_retry_at is None
    finally:
        supervisor.stop_all(record=False)


def test_a_runner_whose_http_server_died_stops_and_does_no_lease_work(member, org):
    WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    supervisor = Supervisor(allow_whatsapp=False, fleet=member)
    loop = RunnerLoop(member=member, supervisor=supervisor, serving=lambda: False)
    assert loop.step() is False
    assert not Runner.objects.filter(pk="loop-test").exists()
    assert not SessionLease.objects.exists()
    assert supervisor.live_ids() == set()

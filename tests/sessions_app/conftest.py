"""Fixtures of the session tests that run a real runner process."""

import os
import signal
from collections.abc import Iterator

import pytest

from sessions_app.models import Engine, SessionStatus
from sessions_app.runner.fleet import FleetConfig, FleetMember
from sessions_app.runner.supervisor import Supervisor
from tests.factories import WhatsAppSessionFactory
from tests.processes import free_port, wait_for
from tests.runner_process import Runner
from tests.sessions_app.fake_engine import live_on, reload
from tests.sessions_app.fake_whatsapp import FakeNeonizeClient
from tests.worker_processes import Proxy


@pytest.fixture
def runner(settings, tmp_path) -> Iterator[Runner]:
    """A `runsessions` process (not yet started) that this test's web calls go to."""
    url = f"http://127.0.0.1:{free_port()}"
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = url
    process = Runner(url, tmp_path / "runner.log")
    yield process
    process.kill()


@pytest.fixture
def make_runner(settings, tmp_path) -> Iterator:
    """``make(mode)``: a runner (not yet started) whose workers run the real neonize
    library and dial a loopback ``Proxy`` in ``mode``; the web's calls go to it."""
    started: list[tuple[Runner, Proxy]] = []

    def make(mode: str = "hold", *, interval: float = 0.3, **env: str) -> Runner:
        proxy = Proxy(mode)
        url = f"http://127.0.0.1:{free_port()}"
        settings.GATEWAY_RUNNER_IN_PROCESS = False
        settings.GATEWAY_RUNNER_URL = url
        runner = Runner(
            url,
            tmp_path / "runner.log",
            interval=interval,
            HTTPS_PROXY=proxy.url,
            HTTP_PROXY=proxy.url,
            GATEWAY_DEVICE_STORE="sqlite",
            **env,
        )
        started.append((runner, proxy))
        return runner

    yield make
    for runner, proxy in started:
        if runner.alive():
            os.kill(runner.pid, signal.SIGCONT)
        runner.kill()
        proxy.close()


@pytest.fixture
def whatsapp_session(db, settings):
    settings.GATEWAY_DEVICE_STORE = "sqlite"
    return WhatsAppSessionFactory(engine=Engine.WHATSAPP, fresh=True, desired_connected=True)


@pytest.fixture
def engine(whatsapp_session):
    """A started whatsapp live session on the fake network; yields (live, fake, ended)."""
    fake = FakeNeonizeClient()
    ended: list[bool] = []
    live = live_on(whatsapp_session, fake, on_ended=ended.append)
    live.start()
    wait_for(lambda: live.connected, "ConnectedEv")
    wait_for(
        lambda: (
            whatsapp_session.__class__.objects.get(pk=whatsapp_session.pk).status
            == SessionStatus.CONNECTED
        ),
        "the connected status",
    )
    yield live, fake, ended
    live.stop()


@pytest.fixture
def served(settings, whatsapp_session):
    import socket

    from sessions_app.runner.server import RunnerServer

    fake = FakeNeonizeClient()

    def factory(session, *, sink, on_ended, allow_whatsapp, lease_hold=None):
        return live_on(session, fake, on_ended=on_ended)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A runner of the fleet in this process: it holds the session by lease, so web
    # calls are routed to it.
    member = FleetMember(
        FleetConfig("test", f"http://127.0.0.1:{port}", capacity=5, lease_seconds=30)
    )
    supervisor = Supervisor(factory=factory, fleet=member)
    server = RunnerServer(("127.0.0.1", port), supervisor)
    server.serve_in_thread()
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = f"http://127.0.0.1:{port}"
    assert member.try_claim(whatsapp_session.id)
    live = supervisor.start(whatsapp_session.id)
    wait_for(lambda: live.connected, "the session to connect")
    wait_for(lambda: reload(whatsapp_session).status == SessionStatus.CONNECTED, "status")
    yield fake
    server.shutdown()
    server.server_close()
    supervisor.stop_all(record=False)

"""Fixtures of the session tests that run a real runner process."""

import os
import signal
from collections.abc import Iterator

import pytest

from tests.processes import free_port
from tests.runner_process import Runner
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

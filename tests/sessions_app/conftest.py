"""Fixtures of the session tests that run a real runner process."""

from collections.abc import Iterator

import pytest

from tests.processes import free_port
from tests.runner_process import Runner


@pytest.fixture
def runner(settings, tmp_path) -> Iterator[Runner]:
    """A `runsessions` process (not yet started) that this test's web calls go to."""
    url = f"http://127.0.0.1:{free_port()}"
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = url
    process = Runner(url, tmp_path / "runner.log")
    yield process
    process.kill()

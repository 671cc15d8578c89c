"""`make run` itself: web and runner side by side, the runner's port derived from PORT."""

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, free_port, wait_for


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "honcho").exists(), reason="needs make install")
def test_port_moves_web_and_runner_together(tmp_path: Path):
    port = free_port(pair=True)  # the runner takes the next one
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL", "GATEWAY_RUNNER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        PORT=str(port), GATEWAY_DATA_DIR=str(tmp_path / "data"), GATEWAY_RUNNER_IN_PROCESS="0"
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [shutil.which("make") or "make", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:

        def both_up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"make run exited: {log.read_text()[-3000:]}")
            return answers(f"http://127.0.0.1:{port}/healthz") and answers(
                f"http://127.0.0.1:{port + 1}/healthz"
            )

        wait_for(both_up, "web and runner to serve", timeout=90)
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text  # the web process reaches its runner
        text = log.read_text()
        assert f"web:    http://127.0.0.1:{port}" in text
        assert f"runner: http://127.0.0.1:{port + 1}" in text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

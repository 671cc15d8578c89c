"""Helpers for tests that run the gateway's own processes against the test database."""

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database (pytest-django's, not the configured one) as a DATABASE_URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    """The environment for a gateway process that shares this test's database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "GATEWAY_DATA_DIR": str(settings.DATA_DIR),
        "GATEWAY_RUNNER_IN_PROCESS": "0",
        "DEBUG": "0",
        **extra,
    }


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_here(
    argv: list[str], *, env: dict[str, str], timeout: float = 120, check: bool = False
) -> "subprocess.CompletedProcess[str]":
    """Runs ``argv`` in the repository with ``env``, its output captured as text."""
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=check
    )

"""Helpers for tests that run the gateway's own processes against the test database."""

import os
import random
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# Ports are picked from the OS's randomness: a test that seeds `random` cannot make two
# parallel test processes pick the same one.
_PICK = random.SystemRandom()


def free_port(*, pair: bool = False) -> int:
    """A port free now, for a process started next, taken below the kernel's ephemeral
    range: no outgoing connection or `bind(0)` of a parallel test can be handed it in
    the seconds before that process binds it. ``pair``: the next port is free too."""
    low = ephemeral_low()
    for _ in range(200):
        port = _PICK.randrange(max(1024, low - 12000), low - 2)
        if all(bindable(candidate) for candidate in (port, port + 1)[: 2 if pair else 1]):
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux's default when unknown)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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

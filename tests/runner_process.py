"""`runsessions` as a real subprocess against the test database."""

import resource
import signal
import subprocess
import sys
from pathlib import Path

import requests
from rest_framework.test import APIClient

from auth_app.models import Organization
from groups_app.models import Group
from sessions_app.models import ActionState, LiveActionRecord, SessionStatus, WhatsAppSession
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.processes import ROOT, process_env, wait_for

# A participant the sandbox adds without trouble.
ALICE = "15551230001@s.whatsapp.net"


def status_of(session: WhatsAppSession) -> str:
    session.refresh_from_db()
    return session.status


def start_with_a_connected_session(runner: "Runner", org: Organization) -> WhatsAppSession:
    """A new session of ``org`` that wants to be connected, once ``runner`` (started
    here) has connected it."""
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    runner.start()
    wait_for(lambda: status_of(session) == SessionStatus.CONNECTED, "the session to connect")
    return session


def wait_until_connected_again(runner: "Runner", session: WhatsAppSession) -> None:
    """After a restart: the session is live in ``runner`` and its status says connected.

    The runner counts a session live a moment before the new worker's status is
    written; a runner stopped with SIGTERM wrote ``disconnected`` on its way out, so
    until then the gateway honestly answers that the session is not connected."""
    wait_for(lambda: runner.live_sessions() == 1, "the session to be live again")
    wait_for(
        lambda: status_of(session) == SessionStatus.CONNECTED,
        "the session's status to say connected again",
    )


def assert_cut_off_then_created_once_on_retry(
    runner: "Runner", api: APIClient, session: WhatsAppSession, answers: list, key: str
) -> None:
    """A create sent with Idempotency-Key ``key`` whose runner was killed while it had the
    call: the client was told 504, outcome unknown, and the key's record says so. After a
    restart, the retry with the same key is a 201 and the session has exactly one group."""
    assert answers, "the request did not finish"
    error = assert_error(answers[0], 504, "whatsapp_timeout")
    assert "outcome is unknown" in error["message"]
    record = LiveActionRecord.objects.get(idempotency_key=key)
    assert record.state == ActionState.UNKNOWN

    runner.start()
    wait_until_connected_again(runner, session)
    retry = api.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Team", "participants": [ALICE]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert retry.status_code == 201, retry.content
    assert Group.objects.filter(session=session).count() == 1
    record.refresh_from_db()
    assert record.state == ActionState.SUCCEEDED


class Runner:
    def __init__(
        self,
        url: str,
        log: Path,
        *,
        interval: float = 0.3,
        open_files: int | None = None,
        **env: str,
    ) -> None:
        """``interval``: seconds between the runner's rounds of lease work;
        ``open_files``: its open-files limit, soft and hard (as ``ulimit -n``)."""
        self.url = url
        self.log = log
        self.interval = interval
        self.open_files = open_files
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = process_env(GATEWAY_RUNNER_URL=self.url, **self.env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runsessions", "--interval", str(self.interval)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self._limit_open_files if self.open_files else None,
            )
        wait_for(self.healthy, "the runner to listen")

    def _limit_open_files(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"runner exited: {self.log.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def live_sessions(self) -> int:
        return requests.get(f"{self.url}/healthz", timeout=2).json()["live"]

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

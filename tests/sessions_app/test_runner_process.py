"""Web ↔ runner over a real loopback connection: `runsessions` as a subprocess."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from groups_app.models import Group
from sessions_app.models import SessionStatus, WhatsAppSession
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.processes import ROOT, free_port, process_env, wait_for

ALICE = "15551230001@s.whatsapp.net"


class Runner:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = process_env(GATEWAY_RUNNER_URL=self.url)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runsessions", "--interval", "0.3"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.healthy, "the runner to listen")

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


@pytest.fixture
def runner(settings, tmp_path) -> Iterator[Runner]:
    url = f"http://127.0.0.1:{free_port()}"
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = url
    process = Runner(url, tmp_path / "runner.log")
    yield process
    process.kill()


def status_of(session: WhatsAppSession) -> str:
    session.refresh_from_db()
    return session.status


@pytest.mark.django_db(transaction=True)
def test_create_group_through_the_runner_kill_and_restart(runner, api, org):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    body = {"name": "Team", "participants": [ALICE]}

    runner.start()
    wait_for(lambda: status_of(session) == SessionStatus.CONNECTED, "the session to connect")

    created = api.post(groups_url, body, format="json")
    assert created.status_code == 201, created.content
    assert Group.objects.filter(session=session, jid=created.json()["groupJid"]).exists()
    assert runner.live_sessions() == 1

    runner.kill()
    error = assert_error(api.post(groups_url, body, format="json"), 503, "runner_unavailable")
    assert "runner" in error["message"]
    assert Group.objects.filter(session=session).count() == 1

    seen_before = WhatsAppSession.objects.get(pk=session.pk).last_seen_at
    runner.start()
    wait_for(lambda: runner.live_sessions() == 1, "the session to be live again")
    session.refresh_from_db()
    assert session.status == SessionStatus.CONNECTED
    assert session.last_seen_at > seen_before  # the runner connected it anew
    assert api.post(groups_url, body, format="json").status_code == 201

    assert runner.terminate() == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.DISCONNECTED
    assert session.status_reason == "the session runner stopped"


@pytest.mark.django_db(transaction=True)
def test_sessions_asked_to_connect_are_picked_up_without_a_restart(runner, api, org):
    runner.start()
    via_api = WhatsAppSessionFactory(organization=org, fresh=True)
    response = api.post(f"/api/v1/sessions/{via_api.id}/connect")
    assert response.status_code == 202
    wait_for(lambda: status_of(via_api) == SessionStatus.CONNECTED, "the API-connected session")

    # Marked wanted by another process (a command, another web worker): the loop sees it.
    elsewhere = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    wait_for(lambda: status_of(elsewhere) == SessionStatus.CONNECTED, "the loop to start it")
    assert runner.live_sessions() == 2


@pytest.mark.django_db(transaction=True)
def test_a_web_process_with_the_wrong_secret_is_refused(runner, api, org, settings):
    session = WhatsAppSessionFactory(organization=org, fresh=True, desired_connected=True)
    runner.start()
    wait_for(lambda: status_of(session) == SessionStatus.CONNECTED, "the session to connect")
    settings.GATEWAY_RUNNER_SECRET = "not-the-shared-secret"
    response = api.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Team", "participants": [ALICE]},
        format="json",
    )
    error = assert_error(response, 503, "runner_unavailable")
    assert "secret" in error["message"].lower() or "SECRET_KEY" in error["message"]

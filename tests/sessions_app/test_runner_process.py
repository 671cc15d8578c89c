"""Web ↔ runner over a real loopback connection: `runsessions` as a subprocess."""

import signal
import threading
import time

import pytest
import requests
from django.db import connection

from groups_app.models import Group
from sessions_app.models import ActionState, LiveActionRecord, SessionStatus, WhatsAppSession
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.processes import free_port, wait_for
from tests.runner_process import (
    ALICE,
    assert_cut_off_then_created_once_on_retry,
    start_with_a_connected_session,
    status_of,
    wait_until_connected_again,
)


@pytest.mark.django_db(transaction=True)
def test_create_group_through_the_runner_kill_and_restart(runner, api, org):
    session = start_with_a_connected_session(runner, org)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    body = {"name": "Team", "participants": [ALICE]}

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
    wait_until_connected_again(runner, session)
    # The runner counts a session live a moment before its new status is written.
    wait_for(
        lambda: WhatsAppSession.objects.get(pk=session.pk).last_seen_at > seen_before,
        "the runner to record that it connected the session anew",
    )
    session.refresh_from_db()
    assert session.status == SessionStatus.CONNECTED
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
    session = start_with_a_connected_session(runner, org)
    settings.GATEWAY_RUNNER_SECRET = "not-the-shared-secret"
    response = api.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Team", "participants": [ALICE]},
        format="json",
    )
    error = assert_error(response, 503, "runner_unavailable")
    assert "secret" in error["message"].lower() or "SECRET_KEY" in error["message"]


@pytest.mark.django_db(transaction=True)
def test_a_runner_killed_mid_request_is_an_unknown_outcome_and_the_retry_is_safe(runner, api, org):
    """kill -9 after the request reached the runner: not 'cannot connect' (503), but 504
    whatsapp_timeout — it may have acted — and the Idempotency-Key is kept so the retry
    looks on WhatsApp before creating anything."""
    session = start_with_a_connected_session(runner, org)
    groups_url = f"/api/v1/sessions/{session.id}/groups"
    body = {"name": "Team", "participants": [ALICE]}

    assert runner.process is not None
    runner.process.send_signal(signal.SIGSTOP)  # it accepts connections but never answers
    answers: list = []

    def call() -> None:
        try:
            answers.append(api.post(groups_url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"))
        finally:
            connection.close()

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(
        lambda: LiveActionRecord.objects.filter(idempotency_key="k-1").exists(),
        "the request to be under way",
    )
    time.sleep(0.5)  # the request is in the runner's socket
    runner.kill()  # SIGKILL: the kernel resets its connections
    caller.join(timeout=30)
    assert_cut_off_then_created_once_on_retry(runner, api, session, answers, "k-1")


@pytest.mark.django_db(transaction=True)
def test_a_runner_that_refuses_connections_is_503_and_the_key_is_released(runner, api, org):
    session = WhatsAppSessionFactory(organization=org)
    body = {"name": "Team", "participants": [ALICE]}
    url = f"/api/v1/sessions/{session.id}/groups"
    # Nothing listens on the runner's port: nothing was sent, nothing can have happened.
    assert_error(
        api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2"), 503, "runner_unavailable"
    )
    record = LiveActionRecord.objects.get()
    assert record.idempotency_key is None and record.state == ActionState.FAILED


@pytest.mark.django_db(transaction=True)
def test_the_runner_validates_every_action_itself(runner, org):
    """Whoever holds the runner's secret gets the API's rules, not a pass-through."""
    import json

    from sessions_app.runner.protocol import signed_headers

    session = start_with_a_connected_session(runner, org)

    def call(action: str, payload: object) -> requests.Response:
        path = f"/v1/sessions/{session.id}/{action}"
        body = json.dumps(payload).encode()
        headers = {**signed_headers("POST", path, body), "Content-Type": "application/json"}
        return requests.post(f"{runner.url}{path}", data=body, headers=headers, timeout=10)

    bad = [
        ("create_group", {"name": "", "participants": [ALICE]}, "name"),
        ("create_group", {"name": "x" * 101, "participants": [ALICE]}, "name"),
        ("create_group", {"name": "a\nb", "participants": [ALICE]}, "name"),
        ("create_group", {"name": "\u200b", "participants": [ALICE]}, "name"),
        ("create_group", {"name": "T", "participants": [f"{ALICE}\n"]}, "participants"),
        ("create_group", {"name": "T", "participants": [0] * 2000}, "participants"),
        ("create_group", {"name": "T", "participants": "everyone"}, "participants"),
        ("find_created_group", {"name": "T", "since": "yesterday"}, "since"),
        ("pair_code", {"phone": "+1 555"}, "phone"),
    ]
    for action, payload, field in bad:
        response = call(action, payload)
        assert response.status_code == 400, (action, payload, response.text)
        body = response.json()
        assert body["error"]["code"] == "validation_error"
        assert field in body["error"]["details"], (action, payload)
    assert not Group.objects.exists()
    assert call("create_group", {"name": "Fine", "participants": [ALICE]}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_runner_answers_an_oversized_header_in_the_envelope(runner):
    runner.start()
    response = requests.get(f"{runner.url}/healthz", headers={"X-Big": "a" * 70_000}, timeout=5)
    assert response.status_code == 431
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_a_second_runner_refuses_to_start(runner, tmp_path):
    import subprocess
    import sys

    from tests.processes import ROOT, database_url, process_env

    if database_url().startswith("postgres"):
        pytest.skip("SQLite keeps one runner; PostgreSQL runs several (tests/test_runner_fleet)")
    runner.start()
    second = subprocess.run(
        [sys.executable, "manage.py", "runsessions"],
        cwd=ROOT,
        env=process_env(GATEWAY_RUNNER_URL=f"http://127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode != 0
    (line,) = [text for text in second.stderr.splitlines() if "PostgreSQL" in text]
    assert "another session runner" in line
    assert runner.alive()


@pytest.mark.django_db(transaction=True)
def test_a_runner_killed_mid_send_is_504_and_the_retry_sends_the_message_once(runner, api, org):
    """kill -9 while the runner holds a send: 504 (it may have gone out), the key kept;
    the retry with the key, after a restart, sends under the same message id and the
    chat holds the message once."""
    from messages_app.models import Message

    session = start_with_a_connected_session(runner, org)
    url = f"/api/v1/sessions/{session.id}/messages"
    body = {"to": ALICE, "type": "text", "text": "exactly once"}
    assert runner.process is not None
    runner.process.send_signal(signal.SIGSTOP)
    answers: list = []

    def call() -> None:
        try:
            answers.append(api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="m-1"))
        finally:
            connection.close()

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(
        lambda: LiveActionRecord.objects.filter(idempotency_key="m-1").exists(),
        "the send to be under way",
    )
    time.sleep(0.5)  # the request is in the runner's socket
    runner.kill()
    caller.join(timeout=30)
    assert answers, "the request did not finish"
    assert_error(answers[0], 504, "whatsapp_timeout")
    assert not Message.objects.exists()

    runner.start()
    wait_until_connected_again(runner, session)
    retry = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert retry.status_code == 201, retry.content
    from messages_app.services import message_id_for

    # The id the first attempt was sent under: derived from the key, so the same.
    assert retry.json()["id"] == message_id_for(session=session, idempotency_key="m-1")
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retry.json()["id"]
    assert Message.objects.filter(session=session, chat=ALICE).count() == 1

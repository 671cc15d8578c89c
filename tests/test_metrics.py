"""GET /metrics: off without a token, the token required, Prometheus text that promtool
accepts, counts added up across gunicorn workers, and what the database says."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from tests.factories import WhatsAppSessionFactory
from tests.processes import ROOT, free_port, process_env, wait_for
from tests.tools import needs, tool

PROMTOOL_INSTALL = "apt-get install -y prometheus"
PROMTOOL = tool("promtool", PROMTOOL_INSTALL, required_by="GATEWAY_PROMTOOL_TESTS")
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client: Client, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def value(text: str, series: str) -> float:
    """The sample of one series (exact name and labels) in Prometheus text."""
    for line in text.splitlines():
        name, _, number = line.rpartition(" ")
        if name == series:
            return float(number)
    raise AssertionError(f"no {series} in:\n{text}")


def promtool_check(text: str) -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.django_db
def test_off_without_a_token_and_the_token_required(settings):
    settings.GATEWAY_METRICS_TOKEN = ""
    off = scrape(Client())
    assert off.status_code == 404 and off.json()["error"]["code"] == "not_found"
    settings.GATEWAY_METRICS_TOKEN = TOKEN
    for token in (None, "wrong"):
        refused = scrape(Client(), token)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert refused["WWW-Authenticate"].startswith("Bearer")
    assert scrape(Client()).status_code == 200


@needs(PROMTOOL, PROMTOOL_INSTALL)
@pytest.mark.django_db
def test_requests_live_calls_and_state_in_text_promtool_accepts(settings, org, api):
    from sessions_app.models import Runner, SessionLease, SessionStatus
    from webhooks_app.events import record_event
    from webhooks_app.services import endpoint_create

    settings.GATEWAY_METRICS_TOKEN = TOKEN
    settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = True
    session = WhatsAppSessionFactory(
        organization=org, send_budget_per_minute=100, send_budget_per_day=1000
    )
    WhatsAppSessionFactory(organization=org, disconnected=True)
    now = timezone.now()
    Runner.objects.create(
        id="runner-a", url="http://127.0.0.1:1", capacity=5, started_at=now, heartbeat_at=now
    )
    SessionLease.objects.create(
        session=session,
        runner_id="runner-a",
        runner_url="http://127.0.0.1:1",
        token=1,
        expires_at=now + timedelta(seconds=30),
    )
    endpoint_create(organization=org, url="http://127.0.0.1:9/hook", events=["*"])
    record_event(organization_id=org.pk, event_type="webhook.test", data={})
    for _ in range(3):
        assert api.get(f"/api/v1/sessions/{session.id}").status_code == 200
    # A live call: a group created on the sandbox.
    created = api.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Metrics", "participants": ["15551230001@s.whatsapp.net"]},
        format="json",
    )
    assert created.status_code == 201, created.content

    response = scrape(Client())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    promtool_check(text)
    # By route pattern, never by raw path (one series whatever the session id).
    route = "/api/v1/sessions/<str:session>"
    assert (
        value(text, f'gateway_http_requests_total{{method="GET",route="{route}",status="200"}}')
        >= 3
    )
    assert session.id not in text
    assert value(text, 'gateway_live_calls_total{action="create_group",outcome="succeeded"}') >= 1
    assert 'gateway_live_call_duration_seconds_bucket{action="create_group"' in text
    assert (
        value(text, f'gateway_sessions{{engine="sandbox",status="{SessionStatus.CONNECTED}"}}') == 1
    )
    assert value(text, 'gateway_sessions{engine="sandbox",status="disconnected"}') == 1
    assert value(text, 'gateway_runner_leases{runner="runner-a"}') == 1
    assert 0 <= value(text, 'gateway_runner_heartbeat_age_seconds{runner="runner-a"}') < 60
    assert value(text, 'gateway_webhook_deliveries{status="pending"}') >= 1
    assert value(text, "gateway_webhook_oldest_pending_age_seconds") >= 0
    assert value(text, 'gateway_send_budget_used{window="day"}') >= 2  # the create and its add
    assert value(text, "gateway_state_up") == 1


@needs(PROMTOOL, PROMTOOL_INSTALL)
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_add_up_in_multiprocess_mode(tmp_path):
    """Two gunicorn workers, PROMETHEUS_MULTIPROC_DIR shared: /metrics counts the requests
    that both answered, whichever worker answers the scrape."""
    port = free_port()
    env = process_env(
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        GATEWAY_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        GATEWAY_WEB_ACCESS_LOG="off",
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "gateway.wsgi", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "-w", "2"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), "gunicorn", timeout=30)
        for _ in range(40):  # new connections: both workers answer some
            answer = requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=5)
            assert answer.status_code == 200
        text = requests.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).text
    finally:
        server.terminate()
        server.wait(timeout=30)
    promtool_check(text)
    served = value(text, 'gateway_http_requests_total{method="GET",route="/healthz",status="200"}')
    assert served >= 40  # every worker's count (plus the readiness polls)
    files = list((tmp_path / "prometheus").glob("counter_*.db"))
    assert len({re.search(r"_(\d+)\.db$", f.name)[1] for f in files}) == 2  # two workers wrote


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or a worker still booting
        return False

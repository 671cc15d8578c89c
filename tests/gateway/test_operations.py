"""Operations: request ids, JSON logs, no secret in any log, `check --deploy` clean."""

import json
import logging
import subprocess
import sys

import pytest
from django.test import Client

from gateway.logging import JsonFormatter
from tests.processes import ROOT


@pytest.mark.django_db
class TestRequestId:
    def test_every_response_has_one(self, api, session):
        first = api.get(f"/api/v1/sessions/{session.id}/groups")
        second = Client().get("/api/v1/nope")
        assert len(first["X-Request-Id"]) == 32
        assert second["X-Request-Id"] and second["X-Request-Id"] != first["X-Request-Id"]

    def test_a_proxys_id_is_kept_and_a_bad_one_replaced(self):
        assert Client().get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-Id"] == (
            "lb-1234.abc"
        )
        assert Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-Id"] != (
            "bad id\n"
        )

    def test_log_lines_are_json_with_the_request_id(self, session, caplog):
        # A client mistake is logged once, by the access log; a refused token is one the
        # gateway logs itself (once per address and window): it carries the request id.
        caplog.set_level(logging.INFO, logger="gateway.throttling")
        refused = Client(HTTP_AUTHORIZATION="Bearer wag_nonsense")
        response = refused.get(f"/api/v1/sessions/{session.id}/groups")
        record = next(r for r in caplog.records if r.name == "gateway.throttling")
        line = json.loads(JsonFormatter().format(record))
        assert line["level"] == "INFO"
        assert "refused a bearer token" in line["message"]
        assert set(line) >= {"time", "logger", "message", "request_id"}
        assert line["request_id"] == response["X-Request-Id"]

    def test_a_client_mistake_is_not_logged_again_by_django(self, api, caplog):
        caplog.set_level(logging.WARNING, logger="django.request")
        api.get("/api/v1/sessions/01HZ0SESSION0000000000000Z/groups")
        api.get("/api/v1/nope")
        assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_no_key_or_token_ever_reaches_the_logs(api, session, issue_token, org, caplog, settings):
    """Every log record at every level during successes, refusals and failures."""
    caplog.set_level(logging.DEBUG)
    key = issue_token(org, "read")
    revoked_key = issue_token(org, "read")
    from auth_app.models import ApiKey
    from auth_app.services import api_key_revoke

    api_key_revoke(api_key=ApiKey.objects.order_by("-id").first())
    fake_jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    url = f"/api/v1/sessions/{session.id}/groups"
    for token in (key, revoked_key, fake_jwt, key[:-2] + "zz"):
        client = Client()
        client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        client.post(
            url, "{bad json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    settings.GATEWAY_RUNNER_IN_PROCESS = False
    settings.GATEWAY_RUNNER_URL = "http://127.0.0.1:9"
    Client().post(
        url,
        {"name": "T", "participants": ["15551234567@s.whatsapp.net"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}" for r in caplog.records
    )
    assert caplog.records  # something was logged: the check below is not vacuous
    for secret in (key, revoked_key, fake_jwt, key.split("_", 2)[2]):
        assert secret not in logged


def _production_env(tmp_path, **extra: str) -> dict[str, str]:
    """A production configuration (DEBUG unset), nothing of this shell's environment."""
    return {
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "SECRET_KEY": "k3y-" + "x7Qz" * 16,
        "ALLOWED_HOSTS": "gateway.example.com",
        "GATEWAY_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        **extra,
    }


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _production_setting(tmp_path, expression: str, **extra: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_production_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_hsts_starts_short_and_the_strong_values_are_an_opt_in(tmp_path):
    """A mistake in HTTPS must be undone within the hour, for this host only; a year,
    subdomains and preload are set by the operator."""
    triple = ", ".join(
        f"settings.SECURE_HSTS_{name}" for name in ("SECONDS", "INCLUDE_SUBDOMAINS", "PRELOAD")
    )
    assert _production_setting(tmp_path, triple) == "3600 False False"
    strong = _production_setting(
        tmp_path,
        triple,
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    assert strong == "31536000 True True"

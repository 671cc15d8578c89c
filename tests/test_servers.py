"""The servers the gateway runs under, as real processes: the development server and
gunicorn. What they write before Django sees a request, what their access logs keep, and
where development mode may listen."""

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, free_port, process_env, wait_for

SECRET_IN_QUERY = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"
KEY_IN_QUERY = "wag_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBCCCCCC"


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    command = [arg.replace("{port}", str(port)) for arg in command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-3000:]}")
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return True
        except requests.RequestException:  # not listening yet, or its worker still booting
            return False

    try:
        wait_for(up, "the server to listen")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def dev_server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = process_env(
        DEBUG="1", LOG_FORMAT="text", GATEWAY_DATA_DIR=str(tmp_path / "data"), **extra
    )
    env.pop("SECRET_KEY")
    return env


RUNSERVER = [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"]
GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "gateway.wsgi",
    "-b",
    "127.0.0.1:{port}",
    "-w",
    "1",
]


def assert_envelope(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}


@pytest.mark.django_db(transaction=True)
def test_development_server_headers_and_access_log(tmp_path):
    log = tmp_path / "runserver.log"
    with serving(RUNSERVER, dev_server_env(tmp_path), log) as url:
        huge = requests.get(f"{url}/api/v1/sessions", headers={"X-Big": "a" * 70_000}, timeout=5)
        assert_envelope(huge, 431)
        many = {f"X-H{n}": "v" for n in range(150)}
        assert_envelope(requests.get(f"{url}/api/v1/sessions", headers=many, timeout=5), 431)
        for query in (
            f"access_token={SECRET_IN_QUERY}",
            f"limit=5&token={SECRET_IN_QUERY}",
            f"key={KEY_IN_QUERY}",
        ):
            response = requests.get(f"{url}/api/v1/sessions?{query}", timeout=5)
            assert response.status_code == 401
    text = log.read_text()
    assert "/api/v1/sessions?access_token=[redacted]" in text
    assert SECRET_IN_QUERY not in text
    assert KEY_IN_QUERY not in text


@pytest.mark.django_db(transaction=True)
def test_gunicorn_headers_and_access_log(tmp_path):
    log = tmp_path / "gunicorn.log"
    env = process_env(ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0")
    with serving(GUNICORN, env, log) as url:
        huge = requests.get(f"{url}/api/v1/sessions", headers={"X-Big": "a" * 9000}, timeout=5)
        assert huge.status_code in (400, 431)
        assert_envelope(huge, huge.status_code)
        for query in (f"access_token={SECRET_IN_QUERY}", f"key={KEY_IN_QUERY}"):
            assert requests.get(f"{url}/api/v1/sessions?{query}", timeout=5).status_code == 401
    text = log.read_text()
    assert "access_token=[redacted]" in text
    assert SECRET_IN_QUERY not in text
    assert KEY_IN_QUERY not in text
    # The access log is on by default (gunicorn.conf.py): one JSON object per request, in
    # the application's shape, with the request's id.
    lines = [json.loads(line) for line in text.splitlines() if '"gunicorn.access"' in line]
    redacted = [line for line in lines if line["path"].startswith("/api/v1/sessions?access")]
    assert len(redacted) == 1, lines
    (entry,) = redacted
    assert entry["path"] == "/api/v1/sessions?access_token=[redacted]"
    assert (entry["method"], entry["status"], entry["level"]) == ("GET", 401, "INFO")
    assert entry["request_id"] not in ("", "-") and entry["duration_ms"] >= 0


@pytest.mark.django_db(transaction=True)
def test_the_debug_page_hides_database_and_redis_urls(tmp_path):
    env = dev_server_env(
        tmp_path,
        REDIS_URL="redis://gateway:hunter3-redis@127.0.0.1:1/0",
        REPORTING_DATABASE_URL="postgres://gateway:hunter2-db@db.internal/reports",
    )
    with serving(RUNSERVER, env, tmp_path / "debug.log") as url:
        page = requests.get(f"{url}/admin/", headers={"Host": "evil.example"}, timeout=10)
    assert page.status_code == 400
    assert "DisallowedHost" in page.text  # the debug page, with settings and environment
    assert "REDIS_URL" in page.text and "REPORTING_DATABASE_URL" in page.text
    assert "hunter3-redis" not in page.text
    assert "hunter2-db" not in page.text


@pytest.mark.parametrize("address", ["0.0.0.0:8765", "[::]:8765", "192.0.2.10:8765"])
def test_debug_refuses_a_public_bind_address(tmp_path, address):
    result = subprocess.run(
        [sys.executable, "manage.py", "runserver", address, "--noreload"],
        cwd=ROOT,
        env=dev_server_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "with DEBUG on" in result.stderr


def test_debug_refuses_a_public_runner_address(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "runsessions"],
        cwd=ROOT,
        env=dev_server_env(tmp_path, GATEWAY_RUNNER_URL="http://0.0.0.0:8799"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "with DEBUG on" in result.stderr

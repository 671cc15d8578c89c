"""The production front door as shipped: real nginx with ``deploy/nginx.conf`` (its
listen addresses, upstream port and certificate paths moved to this test's) in front of
gunicorn with ``gunicorn.conf.py``'s defaults.

- The site answers over TLS, passes the gateway's answers through unchanged, and its own
  refusals (a body or a header over its caps, gunicorn down) use the API's envelope.
- 200 slow clients (100 trickling a head, 100 trickling a body) held against nginx do not
  keep other tenants' reads from gunicorn: each read is answered (well under a second
  here; ``bench/floods.py`` records the latency side by side with no flood).
- Without nginx, gunicorn's own defaults (gthread) keep serving reads while the 6 slow
  clients that took the sync-worker setup offline trickle their heads.

nginx is Debian's package: `apt-get install -y nginx-light` (``.ci/run`` installs it).
"""

import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.services import api_key_issue
from tests.certificates import self_signed
from tests.factories import OrganizationFactory, WhatsAppSessionFactory
from tests.processes import ROOT, free_port, process_env, wait_for
from tests.slow_clients import SlowClients, SlowTlsClients

SITE = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None
)
if NGINX is None and os.environ.get("GATEWAY_NGINX_TESTS") == "required":
    raise RuntimeError("GATEWAY_NGINX_TESTS=required and no nginx: apt-get install -y nginx-light")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="needs nginx: apt-get install -y nginx-light (.ci/run installs it)"
)


@dataclass
class FrontDoor:
    https: str
    http: str
    web: str
    tls_port: int
    cert: Path
    nginx_log: Path


def site_for_test(*, tls_port: int, plain_port: int, web_port: int, cert: Path, key: Path) -> str:
    """``deploy/nginx.conf`` with this test's addresses; each line replaced must be there
    exactly once, so the test follows the shipped file rather than a copy of it."""
    text = SITE.read_text()
    replacements = [
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        (r"listen \[::\]:443 ssl http2;", ""),
        (r"listen 80;", f"listen 127.0.0.1:{plain_port};"),
        (r"listen \[::\]:80;", ""),
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{web_port};"),
        (r"ssl_certificate +\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r} once"
    return text


def main_config(directory: Path, site: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{name}_temp_path {directory / name};" for name in ("client_body", "proxy", "fastcgi")
    )
    return (
        f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log {directory / 'access.log'}; {temp} "
        f"uwsgi_temp_path {directory / 'uwsgi'}; scgi_temp_path {directory / 'scgi'}; "
        f"include {site}; }}\n"
    )


@contextmanager
def gunicorn(tmp_path: Path, *args: str, **env: str) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "gateway.wsgi", "-b", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            env=process_env(ALLOWED_HOSTS="*", SECURE_SSL_REDIRECT="0", **env),
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, "gunicorn to listen")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def nginx_in_front(tmp_path: Path, web: str) -> Iterator[FrontDoor]:
    assert NGINX is not None
    directory = tmp_path / "nginx"
    directory.mkdir()
    cert, key = self_signed(directory)
    tls_port, plain_port = free_port(), free_port()
    site = directory / "whatsapp-gateway.conf"
    site.write_text(
        site_for_test(
            tls_port=tls_port,
            plain_port=plain_port,
            web_port=int(web.rsplit(":", 1)[1]),
            cert=cert,
            key=key,
        )
    )
    config = directory / "nginx.conf"
    config.write_text(main_config(directory, site))
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(directory), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    door = FrontDoor(
        https=f"https://127.0.0.1:{tls_port}",
        http=f"http://127.0.0.1:{plain_port}",
        web=web,
        tls_port=tls_port,
        cert=cert,
        nginx_log=directory / "error.log",
    )

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {door.nginx_log.read_text()[-3000:]}")
        try:
            requests.get(f"{door.http}/healthz", timeout=1)  # any answer: nginx listens
            return True
        except requests.RequestException:
            return False

    try:
        wait_for(up, "nginx to listen")
        yield door
    finally:
        process.terminate()
        process.wait(timeout=15)


def tenant_with_a_session() -> tuple[str, str]:
    """(an API key, one of its organization's session ids)."""
    org = OrganizationFactory()
    session = WhatsAppSessionFactory(organization=org)
    return api_key_issue(organization=org, capabilities=ALL_CAPABILITIES).token, session.id


def assert_envelope(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


@needs_nginx
@pytest.mark.django_db(transaction=True)
def test_the_site_serves_the_api_over_tls_and_refuses_in_the_envelope(tmp_path):
    key, session_id = tenant_with_a_session()
    auth = {"Authorization": f"Bearer {key}"}
    with gunicorn(tmp_path) as web, nginx_in_front(tmp_path, web) as door:
        read = requests.get(
            f"{door.https}/api/v1/sessions/{session_id}",
            headers={**auth, "X-Request-Id": "probe-1"},
            verify=door.cert,
            timeout=5,
        )
        assert read.status_code == 200, read.text
        assert read.json()["id"] == session_id
        assert read.headers["X-Request-Id"] == "probe-1"  # passed through, kept
        made = requests.get(
            f"{door.https}/api/v1/sessions", headers=auth, verify=door.cert, timeout=5
        )
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
        # The gateway's own refusal passes unchanged.
        assert_envelope(
            requests.get(f"{door.https}/api/v1/sessions", verify=door.cert, timeout=5),
            401,
            "unauthorized",
        )
        # Plain HTTP: the health probe answers, everything else goes to https.
        assert requests.get(f"{door.http}/healthz", timeout=5).status_code == 200
        moved = requests.get(f"{door.http}/api/v1/sessions", allow_redirects=False, timeout=5)
        assert moved.status_code == 308
        assert moved.headers["Location"].startswith("https://")
        # nginx's own refusals, in the envelope.
        huge = requests.post(
            f"{door.https}/api/v1/sessions",
            data=b"x" * (3 * 1024 * 1024),
            headers={**auth, "Content-Type": "application/json"},
            verify=door.cert,
            timeout=10,
        )
        assert_envelope(huge, 413, "payload_too_large")
        long_header = requests.get(
            f"{door.https}/api/v1/sessions",
            headers={**auth, "X-Big": "a" * 20_000},
            verify=door.cert,
            timeout=5,
        )
        assert_envelope(long_header, 400, "validation_error")
        assert long_header.json()["error"]["message"] == "request header too large"
    # Nothing behind nginx (gunicorn down or restarting): 502 in the envelope.
    (tmp_path / "down").mkdir()
    with nginx_in_front(tmp_path / "down", f"http://127.0.0.1:{free_port()}") as door:
        down = requests.get(
            f"{door.https}/api/v1/sessions", headers=auth, verify=door.cert, timeout=5
        )
        assert_envelope(down, 502, "internal_error")


def reads(url: str, path: str, key: str, count: int, *, verify: Path | bool) -> list[float]:
    """``count`` sequential reads on one kept connection; each one's seconds."""
    seconds = []
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {key}"
        for _ in range(count):
            started = time.monotonic()
            answer = client.get(f"{url}{path}", verify=verify, timeout=5)
            seconds.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
    return seconds


@needs_nginx
@pytest.mark.django_db(transaction=True)
def test_two_hundred_slow_clients_against_nginx_do_not_hold_the_web_tier(tmp_path):
    key, session_id = tenant_with_a_session()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with gunicorn(tmp_path) as web, nginx_in_front(tmp_path, web) as door:
        address = ("127.0.0.1", door.tls_port)
        heads = SlowTlsClients(address, 100, context=context, trickle_seconds=2)
        bodies = SlowTlsClients(address, 100, context=context, trickle_seconds=2, body=True)
        with heads, bodies:
            wait_for(lambda: heads.connected + bodies.connected >= 200, "200 slow clients")
            during = reads(door.https, f"/api/v1/sessions/{session_id}", key, 200, verify=door.cert)
            assert heads.connected + bodies.connected >= 150  # still there while we read
    assert max(during) < 1.0, f"p50 {statistics.median(during):.3f}s max {max(during):.3f}s"


@pytest.mark.django_db(transaction=True)
def test_gunicorns_defaults_keep_serving_while_six_clients_trickle(tmp_path):
    key, session_id = tenant_with_a_session()
    with gunicorn(tmp_path) as web:
        port = int(web.rsplit(":", 1)[1])
        slow = SlowClients(
            ("127.0.0.1", port),
            6,
            request_line=b"GET /api/v1/sessions HTTP/1.1\r\n",
            trickle_seconds=1,
        )
        with slow:
            wait_for(lambda: slow.held() == 6, "6 slow clients")
            time.sleep(1.5)  # each has sent its request line and a header: a thread each
            during = reads(web, f"/api/v1/sessions/{session_id}", key, 50, verify=False)
            assert slow.report.lifetimes == []  # they were all held throughout
    assert max(during) < 1.0

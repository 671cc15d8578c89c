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

import re
import ssl
import statistics
import time
from pathlib import Path

import pytest
import requests

from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.services import api_key_issue
from tests.factories import OrganizationFactory, WhatsAppSessionFactory
from tests.front_door import gunicorn, needs_nginx, nginx_in_front
from tests.processes import free_port, wait_for
from tests.slow_clients import SlowClients, SlowTlsClients


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

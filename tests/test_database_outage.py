"""PostgreSQL going away mid-service: 503 database_unavailable, then service resumes.

A real web process (gunicorn) reaches the test database through a loopback TCP proxy the
test cuts and restores.
"""

import subprocess
import sys

import pytest
import requests
from django.db import connection

from tests.factories import GroupFactory, WhatsAppSessionFactory
from tests.processes import ROOT, free_port, process_env, wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)


def test_outage_answers_503_and_service_resumes(org, issue_token, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the outage is exercised on PostgreSQL (DATABASE_URL=postgres://…)")
    session = WhatsAppSessionFactory(organization=org)
    GroupFactory(session=session)
    token = issue_token(org, "read")
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    port = free_port()
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = process_env(
        DATABASE_URL=f"postgres://{auth}@127.0.0.1:{proxy.port}/{db['NAME']}",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        GATEWAY_RUNNER_IN_PROCESS="1",
    )
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "gateway.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/v1/sessions/{session.id}/groups"
    headers = {"Authorization": f"Bearer {token}"}

    def get() -> requests.Response:
        return requests.get(url, headers=headers, timeout=15)

    try:

        def up() -> bool:
            try:
                return get().status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, "the web process to serve")

        proxy.stop()
        down = get()
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "database_unavailable"
        assert down.headers["Content-Type"].startswith("application/json")
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=15)
        assert ready.status_code == 503

        proxy.start()  # the database is back on the same address
        wait_for(up, "service to resume")
        assert len(get().json()["results"]) == 1
    finally:
        web.terminate()
        web.wait(timeout=15)
        proxy.stop()

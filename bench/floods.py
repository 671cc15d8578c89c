"""Legitimate reads during each flood of the hardening work, side by side with no flood.

    .venv/bin/python bench/floods.py [--reads 300]

Production mode on PostgreSQL (127.0.0.1:5432; the script creates and drops its own
database): gunicorn with ``gunicorn.conf.py``'s defaults, `runsessions` under an
open-files limit of 1,024, and real nginx with ``deploy/nginx.conf`` (Debian's package:
``apt-get install -y nginx-light``). Each line is ``--reads`` sequential reads by a tenant
on one kept connection:

- the web→runner hop (a signed no-op call, on a kept connection and on a new one) while
  1,500 sockets trickle request heads at the runner, reopened as soon as it lets them go;
- ``GET /api/v1/sessions/{id}`` straight to gunicorn while 6 and 50 clients trickle heads
  (where gunicorn alone ends: every thread held);
- the same read through nginx while 200 TLS clients trickle heads (100) and bodies (100);
- another organization's read while one tenant sends 1,023-participant calls from 4
  processes back to back (its live calls are capped at 4 in flight and 5,000
  participants a minute: most are refused with 429 quickly).

The slow clients run in this process, on a thread beside the timed client: their work
competes with it for the interpreter, which shows in the runner lines' tail.
"""

import argparse
import json
import multiprocessing
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402

DB_NAME = "gateway_bench_floods"
# The per-key request limits are off (this script reads far past them); the
# organization's share (live calls in flight, participants) keeps its defaults.
ENV = gateway_env(
    DB_NAME,
    LOG_LEVEL="ERROR",
    GATEWAY_RUNNER_URL="http://127.0.0.1:18211",
    GATEWAY_RATE_LIMIT_READ="off",
    GATEWAY_RATE_LIMIT_LIVE="off",
)
os.environ.update(ENV)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from sessions_app.runner import client  # noqa: E402
from tests.front_door import NGINX, gunicorn, nginx_in_front  # noqa: E402
from tests.processes import wait_for  # noqa: E402
from tests.runner_process import Runner  # noqa: E402
from tests.slow_clients import SlowClients, SlowTlsClients  # noqa: E402

SEED = """
import json
from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.services import api_key_issue, organization_create
from groups_app.models import Group
from sessions_app.models import Engine, WhatsAppSession
tenant = organization_create(slug="tenant")
other = organization_create(slug="other")
t_session = WhatsAppSession.objects.create(
    organization=tenant, engine=Engine.SANDBOX, desired_connected=True
)
o_session = WhatsAppSession.objects.create(organization=other, engine=Engine.SANDBOX)
print(json.dumps({
    "tenant_key": api_key_issue(organization=tenant, capabilities=ALL_CAPABILITIES).token,
    "other_key": api_key_issue(organization=other, capabilities=ALL_CAPABILITIES).token,
    "tenant_session": t_session.id, "other_session": o_session.id,
}))
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def timed_reads(url: str, key: str, count: int, *, verify: object = True) -> list[float]:
    latencies = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for _ in range(count):
            started = time.perf_counter()
            try:
                answer = session.get(url, verify=verify, timeout=10)
                ok = answer.status_code == 200
            except requests.RequestException:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000 if ok else float("inf"))
    return latencies


def timed_pings(url: str, count: int, *, new_connection: bool) -> list[float]:
    latencies = []
    for _ in range(count):
        if new_connection:
            client.forget_connections()
        started = time.perf_counter()
        try:
            client.ping_runner(url, timeout=10)
            latencies.append((time.perf_counter() - started) * 1000)
        except Exception:
            latencies.append(float("inf"))
    return latencies


def row(name: str, values: list[float]) -> str:
    failed = sum(1 for value in values if value == float("inf"))
    answered = [value for value in values if value != float("inf")] or [float("nan")]
    return (
        f"| {name} | {percentile(answered, 0.5):.1f} | {percentile(answered, 0.99):.1f} | "
        f"{max(answered):.1f} | {failed} of {len(values)} |"
    )


def maximal_calls_forever(url: str, key: str, counts: "multiprocessing.Array") -> None:
    people = [f"1555{9000000 + n:07d}@s.whatsapp.net" for n in range(1023)]
    headers = {"Authorization": f"Bearer {key}"}
    while True:
        answer = requests.post(
            url, json={"name": "x", "participants": people}, headers=headers, timeout=120
        )
        with counts.get_lock():
            counts[0 if answer.status_code == 201 else 1] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    if NGINX is None:
        raise SystemExit("this benchmark needs nginx: apt-get install -y nginx-light")

    fresh_database(DB_NAME)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seeded = json.loads(
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED],
            cwd=ROOT,
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    work = Path(tempfile.mkdtemp(prefix="gateway-bench-floods-"))
    lines = []
    runner_env = {name: value for name, value in ENV.items() if name != "GATEWAY_RUNNER_URL"}
    runner = Runner(
        ENV["GATEWAY_RUNNER_URL"], work / "runner.log", interval=1.0, open_files=1024, **runner_env
    )
    runner.start()
    try:
        wait_for(lambda: runner.live_sessions() == 1, "the tenant's session to connect")
        port = int(runner.url.rsplit(":", 1)[1])
        for flood in (0, 1500):
            label = f"{flood:,} slow sockets" if flood else "no flood"
            slow = SlowClients(("127.0.0.1", port), flood, trickle_seconds=2) if flood else None
            if slow:
                slow.__enter__()
                wait_for(lambda s=slow, n=flood: s.report.opened >= n, "the flood")
                time.sleep(6)  # past the head deadline: the runner is cutting them off
            try:
                client.forget_connections()
                lines.append(
                    row(
                        f"runner hop, kept connection, {label}",
                        timed_pings(runner.url, args.reads, new_connection=False),
                    )
                )
                lines.append(
                    row(
                        f"runner hop, new connection, {label}",
                        timed_pings(runner.url, args.reads, new_connection=True),
                    )
                )
            finally:
                if slow:
                    slow.__exit__(None, None, None)

        read_path = f"/api/v1/sessions/{seeded['other_session']}"
        with gunicorn(work, env=ENV) as web:
            web_port = int(web.rsplit(":", 1)[1])
            for flood in (0, 6, 50):
                label = f"{flood} slow clients" if flood else "no flood"
                slow = (
                    SlowClients(
                        ("127.0.0.1", web_port),
                        flood,
                        request_line=b"GET /api/v1/sessions HTTP/1.1\r\n",
                        trickle_seconds=1,
                    )
                    if flood
                    else None
                )
                if slow:
                    slow.__enter__()
                    time.sleep(2)
                try:
                    reads = timed_reads(f"{web}{read_path}", seeded["other_key"], args.reads)
                    lines.append(row(f"gunicorn alone, {label}", reads))
                finally:
                    if slow:
                        slow.__exit__(None, None, None)

            with nginx_in_front(work, web) as door:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                address = ("127.0.0.1", door.tls_port)
                url = f"{door.https}{read_path}"
                lines.append(
                    row(
                        "nginx + gunicorn, no flood",
                        timed_reads(url, seeded["other_key"], args.reads, verify=door.cert),
                    )
                )
                heads = SlowTlsClients(address, 100, context=context, trickle_seconds=2)
                bodies = SlowTlsClients(address, 100, context=context, trickle_seconds=2, body=True)
                with heads, bodies:
                    wait_for(lambda: heads.connected + bodies.connected >= 200, "200 slow clients")
                    reads = timed_reads(url, seeded["other_key"], args.reads, verify=door.cert)
                    lines.append(row("nginx + gunicorn, 200 slow TLS clients", reads))

            calls_url = f"{web}/api/v1/sessions/{seeded['tenant_session']}/groups"
            counts = multiprocessing.Array("i", 2)
            callers = [
                multiprocessing.Process(
                    target=maximal_calls_forever,
                    args=(calls_url, seeded["tenant_key"], counts),
                    daemon=True,
                )
                for _ in range(4)
            ]
            lines.append(
                row(
                    "another tenant's read, no load",
                    timed_reads(f"{web}{read_path}", seeded["other_key"], args.reads),
                )
            )
            for process in callers:
                process.start()
            time.sleep(2)
            reads = timed_reads(f"{web}{read_path}", seeded["other_key"], args.reads)
            for process in callers:
                process.kill()
                process.join()
            lines.append(row("another tenant's read, 4 x 1,023-participant calls", reads))
            made, refused = counts[0], counts[1]
    finally:
        runner.kill()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(f"{args.reads} sequential reads per line, one client, loopback; 2 cores")
    print()
    print("| reads | p50 ms | p99 ms | max ms | failed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for line in lines:
        print(line)
    print()
    print(f"maximal calls during the last line: {made} made, {refused} refused (429)")


if __name__ == "__main__":
    main()

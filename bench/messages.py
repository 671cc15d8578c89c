"""Messages: received → stored → delivered as webhooks, and send latency through the
runner beside ``/healthz``, in one run.

    .venv/bin/python bench/messages.py [--burst 2000] [--sends 300]

PostgreSQL on 127.0.0.1:5432 (creates and drops its own database); gunicorn (the web),
``runsessions`` (the runner, with a sandbox session) and one ``deliverwebhooks`` worker,
as in production; the webhook receiver is nginx answering 204 and logging each arrival
(``apt-get install -y nginx-light``).

- **Receiving**: a text ``sandbox:burst N`` to a sandbox group makes its member send N
  messages at once. Each goes the way a real one does: the engine reports it to the
  runner's sink, which stores it and its ``message.received`` event in one transaction;
  the delivery worker sends the event. Reported: messages stored per second (first to
  last stored), webhooks delivered per second (first stored to last delivered), and
  stored → delivered p50/p99 per message.
- **Sending**: ``--sends`` texts one after another to a user chat (API → web → runner →
  sandbox → stored → 201), and as many ``GET /healthz`` on the same kept-alive
  connection, alternating, so both see the same machine.
- **Reading back**: ``--stored`` messages (100,000) in one chat and 100 in another,
  then ``GET …/messages?chat=`` (a page of 50) on each, alternating, ``--sends`` times.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402
from bench.webhooks import NGINX, arrivals, nginx_receiver, percentile, shell, stop  # noqa: E402
from tests.processes import free_port  # noqa: E402

DB_NAME = "gateway_bench_messages"
MEMBER = "15551230001@s.whatsapp.net"
USER_CHAT = "15551239999@s.whatsapp.net"

SETUP = """
import json
from auth_app.capabilities import Capability
from auth_app.services import api_key_issue, organization_create
from sessions_app.services import session_create
from webhooks_app.services import endpoint_create
org = organization_create(slug="bench-messages")
key = api_key_issue(organization=org, capabilities=frozenset(Capability))
session = session_create(organization=org, engine="sandbox", name="bench")
endpoint_create(organization=org, url="{url}", events=["message.received"])
print(json.dumps({{"token": key.token, "session": session.id}}))
"""


STORE = """
INSERT INTO messages_app_message (session_id, chat, message_id, sender, sender_lid, from_me,
  kind, text, quoted_id, mentions, extra, reactions, votes, send_key, timestamp, created_at,
  updated_at)
SELECT '{session}', '{chat}', 'BENCH' || n, '15551230001@s.whatsapp.net', '', false, 'text',
  'stored ' || n, '', '[]', '{{}}', '{{}}', '{{}}', '', now(), now(), now()
FROM generate_series(1, {count}) AS n
"""


def wait_for(check, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def received_rows(session: str) -> list[tuple[str, float]]:
    """(event id, stored at) of each message.received event, oldest first."""
    out = psql(
        "SELECT id, extract(epoch FROM created_at) FROM webhooks_app_webhookevent "
        f"WHERE type = 'message.received' AND session_id = '{session}' "
        "ORDER BY created_at",
        DB_NAME,
    )
    rows = []
    for line in out.splitlines():
        event_id, _, at = line.partition("|")
        rows.append((event_id, float(at)))
    return rows


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 300:
        raise SystemExit(f"{response.status_code}: {response.text[:500]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--stored", type=int, default=100_000)
    args = parser.parse_args()
    if not Path(NGINX).exists():
        raise SystemExit("needs nginx: apt-get install -y nginx-light")

    directory = Path(tempfile.mkdtemp(prefix="gateway-bench-messages-"))
    hook_port = free_port()
    receiver, log = nginx_receiver(directory, hook_port)
    hook = f"http://127.0.0.1:{hook_port}/hook"
    web_port, runner_port = free_port(), free_port()
    fresh_database(DB_NAME)
    env = gateway_env(
        DB_NAME,
        LOG_LEVEL="ERROR",
        GATEWAY_WEBHOOK_ALLOW_PRIVATE="1",
        GATEWAY_RATE_LIMIT_LIVE="off",
        GATEWAY_RATE_LIMIT_READ="off",
        GATEWAY_RUNNER_URL=f"http://127.0.0.1:{runner_port}",
        GATEWAY_WEB_BIND=f"127.0.0.1:{web_port}",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        WEB_CONCURRENCY="2",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = json.loads(shell(env, SETUP.format(url=hook)))
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen([str(bin_dir / "gunicorn"), "gateway.wsgi"], cwd=ROOT, env=env),
        subprocess.Popen([sys.executable, "manage.py", "runsessions"], cwd=ROOT, env=env),
        subprocess.Popen([sys.executable, "manage.py", "deliverwebhooks"], cwd=ROOT, env=env),
    ]
    api = f"http://127.0.0.1:{web_port}/api/v1/sessions/{made['session']}"
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {made['token']}"
    try:
        wait_for(lambda: _up(http, web_port), "the web")
        http.post(f"{api}/connect", timeout=30)
        wait_for(lambda: http.get(api, timeout=10).json().get("status") == "connected", "connected")
        group = http.post(
            f"{api}/groups", json={"name": "Bench", "participants": [MEMBER]}, timeout=30
        ).json()["groupJid"]

        # -- receiving: a burst from the group's member --------------------------------
        sent = http.post(
            f"{api}/messages",
            json={"to": group, "type": "text", "text": f"sandbox:burst {args.burst}"},
            timeout=30,
        )
        if sent.status_code != 201:
            raise SystemExit(sent.text)
        wait_for(lambda: len(received_rows(made["session"])) >= args.burst, "stored", 300)
        rows = received_rows(made["session"])
        wait_for(lambda: all(event_id in arrivals(log) for event_id, _ in rows), "delivered", 300)
        seen = arrivals(log)
        first_stored, last_stored = rows[0][1], rows[-1][1]
        last_delivered = max(seen[event_id] for event_id, _ in rows)
        stored_rate = len(rows) / max(last_stored - first_stored, 1e-9)
        delivered_rate = len(rows) / (last_delivered - first_stored)
        lags = [(seen[event_id] - at) * 1000 for event_id, at in rows]

        # -- sending, beside /healthz ----------------------------------------------------
        health = f"http://127.0.0.1:{web_port}/healthz"
        for n in range(20):  # warm both paths
            timed(lambda n=n: http.get(health, timeout=10))
        sends, probes = [], []
        for n in range(args.sends):
            body = {"to": USER_CHAT, "type": "text", "text": f"latency {n}"}
            sends.append(timed(lambda body=body: http.post(f"{api}/messages", json=body)))
            probes.append(timed(lambda: http.get(health, timeout=10)))

        # -- reading back: a chat of --stored messages beside one of 100 -------------------
        big, small = "120363000000000100@g.us", "120363000000000101@g.us"
        for chat, count in ((big, args.stored), (small, 100)):
            psql(STORE.format(session=made["session"], chat=chat, count=count), DB_NAME)
        psql("ANALYZE messages_app_message", DB_NAME)
        reads: dict[str, list[float]] = {big: [], small: []}
        for _ in range(args.sends):
            for chat in (big, small):
                reads[chat].append(
                    timed(lambda chat=chat: http.get(f"{api}/messages", params={"chat": chat}))
                )
    finally:
        stop(processes)
        receiver.terminate()
        receiver.wait(timeout=10)
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(
        f"PostgreSQL, gunicorn (2 workers) + runsessions + 1 deliverwebhooks, nginx receiver, "
        f"{os.cpu_count()} cores"
    )
    print()
    print(
        "| received in one burst | stored/s | webhooks delivered/s "
        "| stored→delivered p50 ms | p99 ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(rows)} | {stored_rate:,.0f} | {delivered_rate:,.0f} | "
        f"{statistics.median(lags):,.0f} | {percentile(lags, 0.99):,.0f} |"
    )
    print()
    print(f"| {args.sends} sequential, kept-alive | p50 ms | p90 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in (
        ("POST …/messages (text, through the runner)", sends),
        ("GET /healthz", probes),
    ):
        print(
            f"| {name} | {statistics.median(samples):.1f} | {percentile(samples, 0.9):.1f} "
            f"| {percentile(samples, 0.99):.1f} |"
        )
    print()
    print(f"| GET …/messages?chat= (a page of 50), {args.sends} each | p50 ms | p90 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for chat, count in ((big, args.stored), (small, 100)):
        samples = reads[chat]
        print(
            f"| a chat of {count:,} stored | {statistics.median(samples):.1f} "
            f"| {percentile(samples, 0.9):.1f} | {percentile(samples, 0.99):.1f} |"
        )
    ratio = statistics.median(reads[big]) / statistics.median(reads[small])
    print()
    print(f"list latency p50, {args.stored:,} vs 100 stored: {ratio:.2f}x")


def _up(http: requests.Session, port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


if __name__ == "__main__":
    main()

"""Webhook delivery throughput and latency: events/s, and commit-to-receipt p50/p99.

    .venv/bin/python bench/webhooks.py [--events 2000] [--workers 1 3]

PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; creates and drops its own
database). Records the events in one transaction (one commit time for all), starts the
delivery workers (`deliverwebhooks`), and times every receipt at a fast receiver on
loopback. The workers are started first, so the latency is from the commit (all events
at once) to receipt, backlog included. Rows: one per worker count.
"""

import argparse
import json
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402

DB_NAME = "gateway_bench_webhooks"

SEED = """
import json, time
from django.db import transaction
from auth_app.services import organization_create
from webhooks_app.events import record_event
from webhooks_app.services import endpoint_create
org = organization_create(slug="bench-{run}")
endpoint_create(organization=org, url="{url}", events=["*"])
with transaction.atomic():
    for n in range({count}):
        record_event(organization_id=org.pk, event_type="webhook.test", data={{"n": n}})
print(json.dumps({{"committed": time.time()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()

    arrivals: list[float] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                arrivals.append(time.time())
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *a: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    fresh_database(DB_NAME)
    env = gateway_env(
        DB_NAME,
        LOG_LEVEL="ERROR",
        GATEWAY_WEBHOOK_ALLOW_PRIVATE="1",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    rows = []
    try:
        for run, workers in enumerate(args.workers):
            arrivals.clear()
            processes = [
                subprocess.Popen(
                    [sys.executable, "manage.py", "deliverwebhooks"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            time.sleep(3)  # the workers are up and polling before the commit
            seeded = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    SEED.format(run=run, url=url, count=args.events),
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            committed = json.loads(seeded.stdout.strip().splitlines()[-1])["committed"]
            started = committed
            while len(arrivals) < args.events and time.time() - started < 300:
                time.sleep(0.05)
            for process in processes:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            latencies = sorted((at - committed) * 1000 for at in arrivals)
            elapsed = max(arrivals) - started
            rows.append(
                (
                    workers,
                    len(arrivals),
                    len(arrivals) / elapsed,
                    statistics.median(latencies),
                    latencies[int(len(latencies) * 0.99) - 1],
                )
            )
    finally:
        server.shutdown()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(f"{args.events} events recorded in one transaction, PostgreSQL, receiver on loopback")
    print()
    print("| workers | delivered | events/s | commit→receipt p50 ms | p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for workers, delivered, rate, p50, p99 in rows:
        print(f"| {workers} | {delivered} | {rate:,.0f} | {p50:,.0f} | {p99:,.0f} |")


if __name__ == "__main__":
    main()

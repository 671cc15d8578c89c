"""Webhook delivery throughput and latency, beside the receiver's own ceiling.

    .venv/bin/python bench/webhooks.py [--events 2000] [--workers 1 3] [--singles 200]
        [--endpoints 1]

PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; creates and drops its own
database). The receiver is nginx answering 204 at once and logging each request's
arrival (``$msec``) and ``webhook-id`` (Debian's package: ``apt-get install -y
nginx-light``); its ceiling is measured in the same run with wrk (``apt-get install -y
wrk``), with a new connection per request and with 16 kept-alive connections.

- **Throughput**: the workers are started first; then ``--events`` events are committed
  in one transaction, and deliveries/s is the count over the time from that commit to
  the last receipt. One row per worker count, with how busy the machine's cores were
  meanwhile and the workers' CPU time per delivery. ``--endpoints N`` spreads the events
  over N endpoints of N organizations (each endpoint has at most 4 attempts in flight,
  across all workers).
- **Latency**: one worker, idle; ``--singles`` events committed one at a time, 50 ms
  apart; commit → receipt per event (p50, p99). On PostgreSQL an event's commit wakes
  the worker (LISTEN/NOTIFY); the poll interval (1 s) is only the fallback.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402
from tests.processes import free_port  # noqa: E402

DB_NAME = "gateway_bench_webhooks"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

BULK = """
import json, time
from django.db import transaction
from auth_app.services import organization_create
from webhooks_app.events import record_event
from webhooks_app.services import endpoint_create
orgs = [organization_create(slug=f"bench-{run}-{{e}}") for e in range({endpoints})]
for org in orgs:
    endpoint_create(organization=org, url="{url}", events=["*"])
with transaction.atomic():
    for n in range({count}):
        org = orgs[n % len(orgs)]
        record_event(organization_id=org.pk, event_type="webhook.test", data={{"n": n}})
print(json.dumps({{"committed": time.time()}}))
"""

SINGLES = """
import json, time
from auth_app.services import organization_create
from webhooks_app.events import record_event
from webhooks_app.services import endpoint_create
org = organization_create(slug="bench-singles")
endpoint_create(organization=org, url="{url}", events=["*"])
time.sleep(2)
committed = {{}}
for n in range({count}):
    event = record_event(organization_id=org.pk, event_type="webhook.test", data={{"n": n}})
    committed[event.id] = time.time()
    time.sleep(0.05)
print(json.dumps(committed))
"""


def nginx_receiver(directory: Path, port: int) -> tuple[subprocess.Popen, Path]:
    log = directory / "arrivals.log"
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{name}_temp_path {directory / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (directory / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ {temp} log_format arrival '$msec $http_webhook_id';\n"
        f"  server {{ listen 127.0.0.1:{port}; keepalive_requests 1000000;\n"
        f"    location / {{ access_log {log} arrival buffer=64k flush=100ms; return 204; }} }} }}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"]
    )
    time.sleep(0.5)
    return process, log


def arrivals(log: Path) -> dict[str, float]:
    """webhook-id → first arrival (seconds since the epoch)."""
    seen: dict[str, float] = {}
    if not log.exists():
        return seen
    for line in log.read_text().splitlines():
        at, _, webhook_id = line.partition(" ")
        if webhook_id and webhook_id not in ("-", "evt_bench"):  # not wrk's
            seen.setdefault(webhook_id, float(at))
    return seen


def wrk_ceiling(url: str, *, kept: bool) -> float:
    command = ["wrk", "-t2", "-d5s", "-s", str(ROOT / "bench" / "post.lua")]
    command += ["-c16"] if kept else ["-c16", "-H", "Connection: close"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return float(match[1]) if match else float("nan")


def busy_cores() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (float(stat[11]) + float(stat[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def shell(env: dict[str, str], code: str) -> str:
    return (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )


def workers(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "deliverwebhooks"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    time.sleep(3)  # up and listening before the commit
    return processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--endpoints", type=int, default=1, help="spread the events over N")
    args = parser.parse_args()
    if not Path(NGINX).exists() or shutil.which("wrk") is None:
        raise SystemExit("needs nginx and wrk: apt-get install -y nginx-light wrk")

    directory = Path(tempfile.mkdtemp(prefix="gateway-bench-webhooks-"))
    port = free_port()
    receiver, log = nginx_receiver(directory, port)
    url = f"http://127.0.0.1:{port}/hook"
    fresh_database(DB_NAME)
    env = gateway_env(DB_NAME, LOG_LEVEL="ERROR", GATEWAY_WEBHOOK_ALLOW_PRIVATE="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    rows = []
    try:
        ceiling_new = wrk_ceiling(url, kept=False)
        ceiling_kept = wrk_ceiling(url, kept=True)
        for run, count in enumerate(args.workers):
            log.write_text("")
            subprocess.run(["kill", "-USR1", str(receiver.pid)], check=True)  # reopen the log
            processes = workers(env, count)
            before = [cpu_seconds(p.pid) for p in processes]
            bulk = BULK.format(run=run, url=url, count=args.events, endpoints=args.endpoints)
            committed = json.loads(shell(env, bulk))["committed"]
            machine_before = busy_cores()
            deadline = time.time() + 300
            while len(arrivals(log)) < args.events and time.time() < deadline:
                time.sleep(0.05)
            machine_after = busy_cores()
            used = sum(cpu_seconds(p.pid) for p in processes) - sum(before)
            stop(processes)
            seen = arrivals(log)
            last = max(seen.values())
            latencies = [(at - committed) * 1000 for at in seen.values()]
            busy = (machine_after[0] - machine_before[0]) / (
                (machine_after[1] - machine_before[1]) / (os.cpu_count() or 1)
            )
            rate = len(seen) / (last - committed)
            rows.append((count, len(seen), rate, latencies, busy, used / len(seen) * 1e6))
        log.write_text("")
        subprocess.run(["kill", "-USR1", str(receiver.pid)], check=True)
        processes = workers(env, 1)
        committed_at = json.loads(shell(env, SINGLES.format(url=url, count=args.singles)))
        time.sleep(2)
        stop(processes)
        seen = arrivals(log)
        singles = [
            (seen[event_id] - at) * 1000
            for event_id, at in committed_at.items()
            if event_id in seen
        ]
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(
        f"receiver (nginx, 204 at once) ceiling, wrk 5 s, 16 connections: "
        f"{ceiling_new:,.0f} req/s with a new connection each, {ceiling_kept:,.0f} kept alive"
    )
    print()
    print(
        f"{args.events} events committed in one transaction for {args.endpoints} endpoint(s) "
        f"(one organization each), PostgreSQL, receiver on loopback, {os.cpu_count()} cores"
    )
    print()
    print(
        "| workers | delivered | deliveries/s | commit→receipt p50 ms | p99 ms "
        "| cores busy (machine) | worker CPU µs per delivery |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count, delivered, rate, latencies, busy, per_delivery in rows:
        print(
            f"| {count} | {delivered} | {rate:,.0f} | {statistics.median(latencies):,.0f} | "
            f"{percentile(latencies, 0.99):,.0f} | {busy:.2f} of {os.cpu_count()} "
            f"| {per_delivery:,.0f} |"
        )
    print()
    print(
        f"single events, one idle worker: {len(singles)} of {args.singles} received; "
        f"commit→receipt p50 {statistics.median(singles):.1f} ms, "
        f"p99 {percentile(singles, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()

"""One `send` key's worst create-group request, and what it does to other tenants.

    .venv/bin/python bench/hostile_create.py [--workers 2] [--victim-requests 300]

gunicorn + PostgreSQL (127.0.0.1:5432, user postgres, trust auth; the script creates and
drops its own database). The hostile request is ``{"name":"x","participants":[0, 0, …
100,000 times]}`` (~200 KB, under the body limit). Reports:

- the hostile request alone: status, response size, latency p50/p99 over 50 sequential
  requests (loopback, so this bounds the server time from above);
- another organization's list latency p50/p99 alone, then while 6 processes send the
  hostile request back to back, and the ratio of the two p50s;
- how much the audit table grew per hostile request.

Rate limits are off: the point is what one request costs, not how many are allowed.
"""

import argparse
import json
import multiprocessing
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402

PYTHON = sys.executable
DB_NAME = "gateway_bench_hostile"
BASE = "http://127.0.0.1:18100"
HOSTILE_BODY = json.dumps(
    {"name": "x", "participants": [0] * 100_000}, separators=(",", ":")
).encode()

SEED = """
import json
from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.services import api_key_issue, organization_create
from groups_app.models import Group
from sessions_app.models import Engine, WhatsAppSession
attacker = organization_create(slug="attacker")
victim = organization_create(slug="victim")
a_session = WhatsAppSession.objects.create(organization=attacker, engine=Engine.SANDBOX)
v_session = WhatsAppSession.objects.create(organization=victim, engine=Engine.SANDBOX)
Group.objects.bulk_create(
    Group(session=v_session, jid=f"120363{n:012d}@g.us", subject=f"G{n}", owner_jid="1@x")
    for n in range(100)
)
print(json.dumps({
    "attacker_key": api_key_issue(organization=attacker, capabilities=ALL_CAPABILITIES).token,
    "victim_key": api_key_issue(organization=victim, capabilities=ALL_CAPABILITIES).token,
    "attacker_session": a_session.id, "victim_session": v_session.id,
}))
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def hostile(url: str, key: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    response = requests.post(
        url,
        data=HOSTILE_BODY,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )
    return response.status_code, len(response.content), (time.perf_counter() - started) * 1000


def attack_forever(
    url: str, key: str, counter: "multiprocessing.Value", kind: str, pause: float
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    while True:
        if kind == "hostile":
            hostile(url, key)
        else:
            requests.get(url, headers=headers, timeout=30)
        with counter.get_lock():
            counter.value += 1
        time.sleep(pause)


def under_load(args: argparse.Namespace, seeded: dict, kind: str, pause: float) -> dict:
    """The victim's list latencies while ``args.attackers`` processes send ``kind``
    requests (the hostile create, or an ordinary list of their own), ``pause`` s apart."""
    attack_url = f"{BASE}/api/v1/sessions/{seeded['attacker_session']}/groups"
    victim_url = f"{BASE}/api/v1/sessions/{seeded['victim_session']}/groups"
    counter = multiprocessing.Value("i", 0)
    attackers = [
        multiprocessing.Process(
            target=attack_forever,
            args=(attack_url, seeded["attacker_key"], counter, kind, pause),
            daemon=True,
        )
        for _ in range(args.attackers)
    ]
    for process in attackers:
        process.start()
    time.sleep(1)
    before = counter.value
    started = time.perf_counter()
    latencies = victim_latencies(victim_url, seeded["victim_key"], args.victim_requests)
    elapsed = time.perf_counter() - started
    served = counter.value - before
    for process in attackers:
        process.kill()
        process.join()
    return {"latencies": latencies, "rate": served / elapsed}


def victim_latencies(url: str, key: str, count: int) -> list[float]:
    session = requests.Session()  # keep-alive off on gunicorn sync; one connection each
    headers = {"Authorization": f"Bearer {key}"}
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, headers=headers, timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--victim-requests", type=int, default=300)
    parser.add_argument("--attackers", type=int, default=6)
    args = parser.parse_args()

    fresh_database(DB_NAME)
    env = gateway_env(
        DB_NAME,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="ERROR",
        GATEWAY_RUNNER_URL="http://127.0.0.1:18101",
        GATEWAY_RATE_LIMIT_LIVE="off",
        GATEWAY_RATE_LIMIT_READ="off",
    )
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = json.loads(
        subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", SEED],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    web = subprocess.Popen(
        [
            *(PYTHON, "-m", "gunicorn", "gateway.wsgi", "-b", BASE.removeprefix("http://")),
            *("-w", str(args.workers), "--log-level", "error"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    attack_url = f"{BASE}/api/v1/sessions/{seeded['attacker_session']}/groups"
    victim_url = f"{BASE}/api/v1/sessions/{seeded['victim_session']}/groups"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{BASE}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        victim_latencies(victim_url, seeded["victim_key"], 50)  # warm up
        size_before = int(psql(f"SELECT pg_database_size('{DB_NAME}')"))
        alone = [hostile(attack_url, seeded["attacker_key"]) for _ in range(50)]
        size_after = int(psql(f"SELECT pg_database_size('{DB_NAME}')"))
        statuses = {status for status, _, _ in alone}
        sizes = {size for _, size, _ in alone}
        hostile_ms = [ms for _, _, ms in alone]

        quiet = victim_latencies(victim_url, seeded["victim_key"], args.victim_requests)
        scenarios = {
            "6 processes, hostile creates back to back": under_load(args, seeded, "hostile", 0),
            "6 processes, ordinary list reads back to back": under_load(args, seeded, "read", 0),
            "6 processes, hostile creates 10/s each": under_load(args, seeded, "hostile", 0.1),
        }
        # Quiet again at the end: the baseline is the better of the two (this machine's
        # clock and caches drift over a run).
        quiet_again = victim_latencies(victim_url, seeded["victim_key"], args.victim_requests)
        if statistics.median(quiet_again) < statistics.median(quiet):
            quiet = quiet_again
        audit_rows = psql(
            "SELECT count(*), coalesce(max(length(response_body::text)), 0) "
            "FROM sessions_app_liveactionrecord",
            DB_NAME,
        )
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(f"gunicorn -w {args.workers} (sync), PostgreSQL, {args.attackers} attacker processes")
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| hostile request: status | {sorted(statuses)} |")
    print(f"| hostile request: response bytes | {max(sizes)} |")
    print(f"| hostile request alone: p50 ms | {statistics.median(hostile_ms):.1f} |")
    print(f"| hostile request alone: p99 ms | {percentile(hostile_ms, 0.99):.1f} |")
    rows, longest = audit_rows.split("|")
    print(f"| audit records after the run / longest kept body (chars) | {rows} / {longest} |")
    print(f"| database growth over 50 hostile requests (bytes) | {size_after - size_before} |")
    quiet_p50 = statistics.median(quiet)
    print()
    print("Another organization's list latency (sequential GETs):")
    print()
    print("| while | p50 ms | p99 ms | p50 / quiet | load served (req/s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| quiet | {quiet_p50:.1f} | {percentile(quiet, 0.99):.1f} | 1.00x | - |")
    for name, result in scenarios.items():
        latencies = result["latencies"]
        p50 = statistics.median(latencies)
        print(
            f"| {name} | {p50:.1f} | {percentile(latencies, 0.99):.1f} | "
            f"{p50 / quiet_p50:.2f}x | {result['rate']:.0f} |"
        )


if __name__ == "__main__":
    main()

"""The runner fleet: cold start of many sessions across several runners, and failover.

    .venv/bin/python bench/runner_fleet.py [--sessions 300] [--runners 3] [--lease 15]

PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; the script creates and drops
its own database). Seeds sandbox sessions that should be connected, starts the runners
(`runsessions`, one process each, their own ports), and reports:

- cold start: seconds until every session is connected and held by a live lease;
- failover: after `kill -9` of one runner, seconds until every session is held again
  (bounded by the lease length, then one round of the survivors' loop);
- hand-over: after SIGTERM of another, seconds until its sessions are held elsewhere.
"""

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.postgres import fresh_database, gateway_env, psql  # noqa: E402

DB_NAME = "gateway_bench_fleet"

SEED = """
from auth_app.services import organization_create
from sessions_app.models import Engine, WhatsAppSession
org = organization_create(slug="fleet")
WhatsAppSession.objects.bulk_create(
    WhatsAppSession(organization=org, engine=Engine.SANDBOX, name=f"s{{n}}", desired_connected=True)
    for n in range({count})
)
"""


def served() -> tuple[int, int]:
    """(sessions connected and held by a live lease, runners holding them)."""
    row = psql(
        "SELECT count(*), count(DISTINCT l.runner_id) FROM sessions_app_whatsappsession s "
        "JOIN sessions_app_sessionlease l ON l.session_id = s.id "
        "WHERE s.status = 'connected' AND l.expires_at > clock_timestamp()",
        DB_NAME,
    )
    count, runners = row.split("|")
    return int(count), int(runners)


def held_by(runner_id: str) -> int:
    return int(
        psql(
            f"SELECT count(*) FROM sessions_app_sessionlease WHERE runner_id = '{runner_id}' "
            "AND expires_at > clock_timestamp()",
            DB_NAME,
        )
    )


def wait_until(condition, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"not reached within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--lease", type=int, default=15)
    args = parser.parse_args()

    fresh_database(DB_NAME)
    env = gateway_env(
        DB_NAME,
        LOG_LEVEL="ERROR",
        GATEWAY_RUNNER_LEASE_SECONDS=str(args.lease),
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(count=args.sessions)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    runners = {}
    try:
        started = time.monotonic()
        for n in range(args.runners):
            name = f"runner-{n + 1}"
            runners[name] = subprocess.Popen(
                [sys.executable, "manage.py", "runsessions", "--listen", f"127.0.0.1:{18300 + n}"],
                cwd=ROOT,
                env={**env, "GATEWAY_RUNNER_ID": name},
                stdout=subprocess.DEVNULL,
            )
        wait_until(lambda: served()[0] == args.sessions, 120)
        cold = time.monotonic() - started
        share = -(-args.sessions // args.runners)
        wait_until(
            lambda: (
                served()[0] == args.sessions and all(held_by(name) <= share for name in runners)
            ),
            120,
        )
        balanced = time.monotonic() - started
        balance = [held_by(name) for name in runners]

        victim = "runner-1"
        lost = held_by(victim)
        runners[victim].kill()
        runners[victim].wait()
        failover = wait_until(
            lambda: served()[0] == args.sessions and held_by(victim) == 0, args.lease + 30
        )

        leaving = "runner-2"
        handed = held_by(leaving)
        runners[leaving].send_signal(signal.SIGTERM)
        handover = wait_until(
            lambda: served()[0] == args.sessions and held_by(leaving) == 0, args.lease + 30
        )
    finally:
        for process in runners.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(
        f"{args.sessions} sandbox sessions, {args.runners} runners, lease {args.lease} s, "
        "PostgreSQL, one machine"
    )
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| cold start: all connected and held | {cold:.1f} s |")
    print(f"| shared out evenly (each at most {share}) | {balanced:.1f} s |")
    print(f"| sessions per runner then | {', '.join(map(str, balance))} |")
    print(f"| failover after kill -9 ({lost} sessions) | {failover:.1f} s |")
    print(f"| hand-over after SIGTERM ({handed} sessions) | {handover:.1f} s |")


if __name__ == "__main__":
    main()

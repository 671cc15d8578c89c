"""Throughput and latency over real HTTP: gunicorn + PostgreSQL + the session runner,
loaded by wrk from its own process.

    .venv/bin/python bench/http_load.py [--duration 10] [--connections 16] [--workers 2]
                                        [--rounds 1] [--with-limits]

Needs wrk (Debian: apt-get install wrk) and PostgreSQL on 127.0.0.1:5432 (user postgres,
trust auth); it creates and drops its own database. Reports requests/s, p50 and p99 for
each scenario, each as a ratio to /healthz (the stack's ceiling) measured in the same run,
and list latency with 100 vs 100,000 stored groups. Rate limits are off (they are measured
separately by the --with-limits run). With --rounds N every scenario runs N times,
interleaved, and each figure is the median (a ratio: the median of each round's ratio to
that round's own /healthz), with the lowest and highest round's ratio beside it: on a
shared machine one run's ratios can move by a tenth either way.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB_NAME = "gateway_bench_http"
PG = "postgres://postgres@127.0.0.1:5432"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", sql], check=True)


def wrk(
    url: str, *, duration: int, connections: int, headers: dict[str, str], script: str | None = None
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every scenario this many times, interleaved, and report medians",
    )
    parser.add_argument(
        "--with-limits", action="store_true", help="rate limits on (Redis counters) instead of off"
    )
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    data_dir = tempfile.mkdtemp(prefix="gateway-bench-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "SECRET_KEY": "bench-secret-" + "x" * 40,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "GATEWAY_DATA_DIR": data_dir,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "GATEWAY_RUNNER_URL": "http://127.0.0.1:18001",
        "GATEWAY_RATE_LIMIT_LIVE": "1000000/second" if args.with_limits else "off",
        "GATEWAY_RATE_LIMIT_READ": "1000000/second" if args.with_limits else "off",
    }
    if args.with_limits:
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    sys.path.insert(0, str(ROOT))
    from tests.auth_app.jwks_server import make_key, serve_jwks

    with serve_jwks() as jwks:
        signer = make_key("ES256", "bench")
        jwks.keys = [signer]
        env["GATEWAY_JWT_JWKS_URL"] = jwks.url
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        seed = subprocess.run(
            [PYTHON, "bench/seed_http_load.py"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        seeded = json.loads(seed.stdout.strip().splitlines()[-1])
        now = int(time.time())
        jwt_token = signer.sign(
            {"sub": "bench", "iat": now, "exp": now + 3600, "org_id": "org_bench", "role": "owner"}
        )

        runner = subprocess.Popen(
            [PYTHON, "manage.py", "runsessions", "--interval", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        web = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "gateway.wsgi",
                "-b",
                "127.0.0.1:18000",
                "-w",
                str(args.workers),
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        base = "http://127.0.0.1:18000"
        try:
            for _ in range(100):
                try:
                    ready = requests.get(f"{base}/readyz", timeout=1)
                    if ready.status_code == 200:
                        break
                except requests.RequestException:  # not listening yet, or still starting
                    pass
                time.sleep(0.2)
            key = {"Authorization": f"Bearer {seeded['key']}"}
            jwt_header = {"Authorization": f"Bearer {jwt_token}"}
            small, large = seeded["small_session"], seeded["large_session"]
            create_script = str(ROOT / "bench" / "create_group.lua")
            scenarios = [
                ("/healthz (ceiling)", f"{base}/healthz", {}, None),
                ("list groups, API key", f"{base}/api/v1/sessions/{small}/groups", key, None),
                (
                    "list groups, JWT (ES256)",
                    f"{base}/api/v1/sessions/{small}/groups",
                    jwt_header,
                    None,
                ),
                ("list groups, no token (401)", f"{base}/api/v1/sessions/{small}/groups", {}, None),
                (
                    "get group",
                    f"{base}/api/v1/sessions/{small}/groups/{seeded['group']}",
                    key,
                    None,
                ),
                (
                    "create group (sandbox, via runner)",
                    f"{base}/api/v1/sessions/{small}/groups",
                    {**key, "Content-Type": "application/json"},
                    create_script,
                ),
                ("list groups, 100 stored", f"{base}/api/v1/sessions/{small}/groups", key, None),
                (
                    "list groups, 100,000 stored",
                    f"{base}/api/v1/sessions/{large}/groups",
                    key,
                    None,
                ),
            ]
            for _name, url, headers, script in scenarios:  # warm up every path
                wrk(url, duration=1, connections=4, headers=headers, script=script)
            rounds: list[dict[str, dict[str, float]]] = []
            for _ in range(args.rounds):
                rounds.append(
                    {
                        name: wrk(
                            url,
                            duration=args.duration,
                            connections=args.connections,
                            headers=headers,
                            script=script,
                        )
                        for name, url, headers, script in scenarios
                    }
                )
        finally:
            web.send_signal(signal.SIGTERM)
            runner.send_signal(signal.SIGTERM)
            web.wait(timeout=30)
            runner.wait(timeout=30)
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    ceiling_name = "/healthz (ceiling)"
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s, gunicorn -w {args.workers}, "
        f"PostgreSQL, rate limits {'on (Redis)' if args.with_limits else 'off'}"
        + (
            f", {args.rounds} rounds (medians; x ceiling against each round's own)"
            if args.rounds > 1
            else ""
        )
    )
    print()
    spread = args.rounds > 1
    print(
        "| scenario | req/s | x ceiling | "
        + ("x ceiling, lowest to highest round | " if spread else "")
        + "p50 ms | p99 ms | non-2xx |"
    )
    print("| --- | ---: | ---: | " + ("---: | " if spread else "") + "---: | ---: | ---: |")
    results: dict[str, dict[str, float]] = {}
    for name in rounds[0]:
        ratios = [r[name]["rps"] / r[ceiling_name]["rps"] for r in rounds]
        results[name] = {
            measure: statistics.median(r[name][measure] for r in rounds)
            for measure in ("rps", "p50", "p99")
        }
        errors = sum(int(r[name]["errors"]) for r in rounds)
        print(
            f"| {name} | {results[name]['rps']:,.0f} | {statistics.median(ratios):.2f} | "
            + (f"{min(ratios):.2f} to {max(ratios):.2f} | " if spread else "")
            + f"{results[name]['p50']:.2f} | {results[name]['p99']:.2f} | {errors} |"
        )
    small_list, large_list = (
        results["list groups, 100 stored"],
        results["list groups, 100,000 stored"],
    )
    print()
    print(
        f"list latency p50, 100,000 vs 100 stored groups: "
        f"{large_list['p50'] / small_list['p50']:.2f}x"
    )
    jwt_list, key_list = results["list groups, JWT (ES256)"], results["list groups, API key"]
    print(f"list throughput, API key vs JWT: {jwt_list['rps'] / key_list['rps']:.2f}x")


if __name__ == "__main__":
    main()

"""The web→runner hop alone: a signed call that does nothing (``POST /v1/ping``), from
the web process's runner client to a real `runsessions` process on loopback.

"kept connection" is how web processes call runners (one HTTP/1.1 connection kept per
runner per thread); "new connection per call" closes it before every call; "requests.post"
is the call as the client made it before keep-alive. All include signing the call, the
runner checking the signature and nonce, and JSON both ways.

    .venv/bin/python bench/runner_hop.py [--calls 2000] [--rounds 5]

Uses a throwaway SQLite database (the ping touches no database).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="gateway-bench-")
os.environ.update(
    SECRET_KEY="bench-only-secret-" + "x" * 40,
    LOG_LEVEL="ERROR",
    GATEWAY_DATA_DIR=DATA_DIR,
    DJANGO_SETTINGS_MODULE="gateway.settings",
    DATABASE_URL=f"sqlite:///{DATA_DIR}/bench.sqlite3",
)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from sessions_app.runner import client  # noqa: E402
from sessions_app.runner.protocol import signed_headers  # noqa: E402
from tests.processes import free_port  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ping_with_requests(url: str) -> None:
    """The call as the client made it before keep-alive: requests.post, a new connection."""
    body = b"{}"
    headers = {**signed_headers("POST", "/v1/ping", body), "Content-Type": "application/json"}
    response = requests.post(f"{url}/v1/ping", data=body, headers=headers, timeout=3)
    if response.status_code != 200:
        raise SystemExit(f"ping answered {response.status_code}: {response.text}")


def timed_calls(url: str, calls: int, *, variant: str) -> list[float]:
    samples = []
    for _ in range(calls):
        if variant != "kept":
            client.forget_connections()
        started = time.perf_counter()
        if variant == "requests":
            ping_with_requests(url)
        else:
            client.ping_runner(url)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runsessions", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, "GATEWAY_RUNNER_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        variants = {
            "kept connection (the client now)": "kept",
            "new connection per call": "new",
            "requests.post, new connection (the client before)": "requests",
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for variant in variants.values():  # warm up
            timed_calls(url, 200, variant=variant)
        for _ in range(args.rounds):  # interleaved, so drift hits all alike
            for name, variant in variants.items():
                samples[name] += timed_calls(url, args.calls, variant=variant)
    finally:
        runner.terminate()
        runner.wait(timeout=30)

    print(f"{args.calls} calls x {args.rounds} rounds, one client thread, loopback")
    print()
    print("| web→runner hop (signed no-op) | p50 ms | p90 ms | p99 ms | calls/s (one thread) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        print(
            f"| {name} | {percentile(values, 0.5) * 1e3:.2f} | {percentile(values, 0.9) * 1e3:.2f}"
            f" | {percentile(values, 0.99) * 1e3:.2f} | {len(values) / sum(values):,.0f} |"
        )
    kept, fresh, before = (statistics.median(samples[name]) for name in variants)
    print()
    print(f"p50 new connection / kept: {fresh / kept:.2f}x; before / now: {before / kept:.2f}x")


if __name__ == "__main__":
    main()

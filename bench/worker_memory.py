"""Memory of idle session workers: PSS per worker against the floor of a bare neonize.

    .venv/bin/python bench/worker_memory.py [--workers 20] [--settle 20]

Starts N session workers (``python -m sessions_app.worker``), offline: each dials through
an HTTPS proxy on loopback that never answers, so each sits in its dial as an idle
session would. After ``--settle`` seconds it reads every worker's PSS
(``/proc/<pid>/smaps_rollup``), and the PSS of N processes that only ``import neonize``
(the floor). Repeats with GOGC=50 and with GOMEMLIMIT=32MiB to show what Go's collector
settings do. Prints a Markdown table.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import neonize, neonize.client, sys; sys.stdin.read()"


def black_hole() -> str:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    held = []

    def accept() -> None:
        while True:
            connection, _ = server.accept()
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss for {pid}")


def measure(commands: list[list[str]], env: dict[str, str], settle: float) -> list[int]:
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in commands
    ]
    try:
        time.sleep(settle)
        return [pss_kib(process.pid) for process in processes if process.poll() is None]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--settle", type=float, default=20)
    args = parser.parse_args()

    proxy = black_hole()
    store = tempfile.mkdtemp(prefix="gateway-bench-workers-")
    base = {**os.environ, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "PYTHONPATH": str(ROOT)}
    workers = [
        [
            sys.executable,
            "-m",
            "sessions_app.worker",
            "--session",
            f"BENCH{n:021d}",
            "--store",
            f"{store}/{n}.db",
            "--parent",
            str(os.getpid()),
        ]
        for n in range(args.workers)
    ]
    floors = [[sys.executable, "-c", FLOOR]] * args.workers

    print(f"{args.workers} processes each, after {args.settle:g} s; PSS in MiB (mean)")
    print()
    print("| Go settings | bare `import neonize` (floor) | idle session worker | worker / floor |")
    print("| --- | ---: | ---: | ---: |")
    for label, extra in (
        ("defaults", {}),
        ("GOGC=50", {"GOGC": "50"}),
        ("GOMEMLIMIT=32MiB", {"GOMEMLIMIT": "32MiB"}),
    ):
        env = {**base, **extra}
        floor = statistics.mean(measure(floors, env, args.settle)) / 1024
        worker_pss = measure(workers, env, args.settle)
        worker = statistics.mean(worker_pss) / 1024
        alive = f" ({len(worker_pss)} alive)" if len(worker_pss) != args.workers else ""
        print(f"| {label} | {floor:.1f} | {worker:.1f}{alive} | {worker / floor:.2f}x |")


if __name__ == "__main__":
    main()

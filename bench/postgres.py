"""What the PostgreSQL benchmarks share: psql, a fresh database, and the environment of
the gateway processes they start against it."""

import os
import subprocess
import tempfile

PG = "postgres://postgres@127.0.0.1:5432"


def psql(sql: str, database: str = "postgres") -> str:
    """Runs one statement as the postgres user; its output, unaligned."""
    return subprocess.run(
        ["psql", "-qtA", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def fresh_database(name: str) -> None:
    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")


def gateway_env(database: str, **extra: str) -> dict[str, str]:
    """The environment for gateway processes on ``database`` (a throwaway data folder)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "SECRET_KEY": "bench-secret-" + "x" * 40,
        "DATABASE_URL": f"{PG}/{database}",
        "GATEWAY_DATA_DIR": tempfile.mkdtemp(prefix="gateway-bench-"),
        **extra,
    }

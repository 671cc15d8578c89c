"""Settings come from the environment; each case runs in its own interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
result = {"engine": settings.DATABASES["default"]["ENGINE"], "debug": settings.DEBUG,
          "secret_is_dev": (settings.DATA_DIR / "dev-secret-key").exists()
              and (settings.DATA_DIR / "dev-secret-key").read_text().strip() == settings.SECRET_KEY,
          "secret": settings.SECRET_KEY,
          "hosts": settings.ALLOWED_HOSTS, "data_dir": str(settings.DATA_DIR)}
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        result["journal_mode"] = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        result["busy_timeout_ms"] = cursor.fetchone()[0]
        # A write makes SQLite create the -wal and -shm files; their modes are read while
        # this connection holds them open (they go when the last connection closes).
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
        cursor.execute("INSERT INTO probe VALUES (1)")
        import os, stat
        name = settings.DATABASES["default"]["NAME"]
        result["modes"] = {
            suffix: oct(stat.S_IMODE(os.stat(f"{name}{suffix}").st_mode))
            for suffix in ("", "-wal", "-shm")
            if os.path.exists(f"{name}{suffix}")
        }
print(json.dumps(result))
"""


def probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="gateway.settings", GATEWAY_DATA_DIR=str(tmp_path))
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_refuses_to_start_without_a_secret_key_when_not_debugging(tmp_path):
    result = probe(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_development_secret_only_with_debug(tmp_path):
    result = probe(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secret_is_dev"] is True


def test_the_development_secret_is_random_private_and_kept(tmp_path):
    first = probe(tmp_path / "a", DEBUG="1")
    again = probe(tmp_path / "a", DEBUG="1")
    elsewhere = probe(tmp_path / "b", DEBUG="1")
    secrets = [json.loads(r.stdout)["secret"] for r in (first, again, elsewhere)]
    assert secrets[0] == secrets[1]  # every process of one checkout agrees
    assert secrets[0] != secrets[2]  # and no two checkouts share one
    assert len(secrets[0]) >= 50
    assert "insecure" not in secrets[0]
    mode = (tmp_path / "a" / "dev-secret-key").stat().st_mode & 0o777
    assert mode == 0o600


def test_a_loose_data_folder_and_database_are_tightened_and_logged(tmp_path):
    data = tmp_path / "loose"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    database = data / "gateway.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    result = probe(data, SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    assert database.stat().st_mode & 0o777 == 0o600
    assert "was 0755, now 0700" in result.stderr
    assert "was 0644, now 0600" in result.stderr


def test_a_new_database_and_its_wal_and_shm_files_are_owner_only(tmp_path):
    result = probe(tmp_path, SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    # All three exist while the probe writes; each is the owner's alone.
    assert json.loads(result.stdout)["modes"] == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}


def test_secret_key_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a-real-secret-from-a-file\n")
    result = probe(tmp_path, SECRET_KEY_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secret_is_dev"] is False


def test_default_database_is_sqlite_in_wal_mode_with_a_busy_timeout(tmp_path):
    result = probe(tmp_path, SECRET_KEY="x" * 50, GATEWAY_SQLITE_TIMEOUT="7")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["journal_mode"] == "wal"
    assert settings["busy_timeout_ms"] == 7000
    assert (tmp_path / "gateway.sqlite3").exists()


def test_data_dir_is_created_owner_only(tmp_path):
    data_dir = tmp_path / "fresh"
    result = probe(data_dir, SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert data_dir.stat().st_mode & 0o077 == 0


def test_postgres_url_selects_postgresql(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); "
            "print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "gateway.settings",
            "SECRET_KEY": "x" * 50,
            "GATEWAY_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://user@127.0.0.1:5432/somedb",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gateway.postgresql"


def test_allowed_hosts_from_the_environment(tmp_path):
    result = probe(tmp_path, SECRET_KEY="x" * 50, ALLOWED_HOSTS="a.example, b.example")
    assert json.loads(result.stdout)["hosts"] == ["a.example", "b.example"]


def test_bad_boolean_is_a_clear_error(tmp_path):
    result = probe(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr

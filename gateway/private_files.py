"""The data folder and the files in it that only the gateway's own user may read.

The folder holds the embedded database (phone numbers, key hashes, audit data), the
WhatsApp device stores (account keys) and development secrets. It is made owner-only
(0700) and its secret files 0600 — also when they already existed with looser modes,
e.g. a folder created by hand or a database copied in. Used from settings, before
logging is configured: each function returns what it changed, for the app to log.
"""

import os
import secrets
import stat
from pathlib import Path

DEV_SECRET_KEY_FILE = "dev-secret-key"  # noqa: S105 (a file name)


def _tighten(path: Path, mode: int) -> str | None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if current & ~mode:
        path.chmod(mode)
        return f"{path} was {current:04o}, now {mode:04o}"
    return None


def tighten_data_dir(data_dir: Path) -> list[str]:
    """Makes the folder 0700; returns a line per mode it changed."""
    change = _tighten(data_dir, 0o700)
    return [change] if change else []


def tighten_sqlite_database(path: Path) -> list[str]:
    """Creates the database file owner-only if it does not exist yet (SQLite gives its
    -wal and -shm files the database's mode), and tightens it and them if it does."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return []
    changes = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        change = _tighten(candidate, 0o600)
        if change:
            changes.append(change)
    return changes


def development_secret_key(data_dir: Path) -> str:
    """The development SECRET_KEY: random, made on first use, kept in the data folder
    with mode 0600. Two processes starting at once agree: the file is created
    exclusively, and the loser reads the winner's."""
    path = data_dir / DEV_SECRET_KEY_FILE
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        _tighten(path, 0o600)
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            os.sched_yield()  # created by a process that has not written it yet
        raise RuntimeError(f"{path} is empty: delete it and start again") from None
    key = secrets.token_urlsafe(50)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key

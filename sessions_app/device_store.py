"""Where a session's WhatsApp device keys live. Treated like a password file.

- Default (SQLite deployments): one SQLite file per session, ``<data dir>/devices/<id>.db``,
  in an owner-only folder, created owner-only before neonize opens it.
- PostgreSQL deployments: the same database as the gateway (neonize accepts a
  ``postgres://`` URL; whatsmeow keeps its own ``whatsmeow_*`` tables there).
- ``GATEWAY_DEVICE_STORE`` overrides both: ``sqlite`` forces per-session files, a
  ``postgres://`` URL names another database.
"""

import os
from pathlib import Path

from django.conf import settings

_SHARED_PREFIXES = ("postgres://", "postgresql://")


def _shared_url() -> str | None:
    configured = settings.GATEWAY_DEVICE_STORE
    if configured == "sqlite":
        return None
    if configured.startswith(_SHARED_PREFIXES):
        return configured
    if settings.DATABASE_URL.startswith(_SHARED_PREFIXES):
        return settings.DATABASE_URL
    return None


def is_shared() -> bool:
    return _shared_url() is not None


def _folder() -> Path:
    return Path(settings.DATA_DIR) / "devices"


def file_path(session_id: str) -> Path:
    return _folder() / f"{session_id}.db"


def prepare(session_id: str) -> str:
    """The store's location for neonize, created owner-only when it is a file."""
    shared = _shared_url()
    if shared:
        return shared
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = file_path(session_id)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
    return str(path)


def remove(session_id: str) -> None:
    """Deletes a per-session store file and its SQLite side files. (In a shared store,
    whatsmeow deletes the device's rows itself when it logs out.)"""
    if is_shared():
        return
    base = file_path(session_id)
    for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-journal")):
        path.unlink(missing_ok=True)

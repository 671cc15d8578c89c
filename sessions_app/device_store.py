"""Where a session's WhatsApp device keys live. Treated like a password file.

- Default (SQLite deployments): one SQLite file per session, ``<data dir>/devices/<id>.db``,
  in an owner-only folder, created owner-only before neonize opens it.
- PostgreSQL deployments: the same database as the gateway (neonize accepts a
  ``postgres://`` URL; whatsmeow keeps its own ``whatsmeow_*`` tables there).
- ``GATEWAY_DEVICE_STORE`` overrides both: ``sqlite`` forces per-session files, a
  ``postgres://`` URL names another database.

A PostgreSQL store is opened by whatsmeow's driver (lib/pq), which takes a URL without
``sslmode`` as ``sslmode=require``, where psycopg (the gateway's own) prefers SSL and
falls back to none. Against a server with SSL off, every worker would fail. So a URL
without ``sslmode`` is handed to neonize with the mode the gateway's own connection to
that server ended up with: ``require`` when psycopg negotiated SSL, ``disable`` when the
server offered none. A URL that names ``sslmode`` goes as it is.
"""

import os
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


_negotiated: dict[str, str] = {}
_negotiated_lock = threading.Lock()


def with_ssl_mode(url: str) -> str:
    """``url`` with the ``sslmode`` psycopg uses for it made explicit (see above)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "sslmode" for name, _ in query):
        return url
    with _negotiated_lock:
        mode = _negotiated.get(url)
    if mode is None:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=5) as probe:
                mode = "require" if probe.pgconn.ssl_in_use else "disable"
        except psycopg.Error as exc:
            raise DeviceStoreError(f"device store: {exc.__class__.__name__}: {exc}"[:300]) from exc
        with _negotiated_lock:
            _negotiated[url] = mode
    return urlunsplit(parts._replace(query=urlencode([*query, ("sslmode", mode)])))


def prepare(session_id: str) -> str:
    """The store's location for neonize, created owner-only when it is a file."""
    shared = _shared_url()
    if shared:
        return with_ssl_mode(shared)
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = file_path(session_id)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
    return str(path)


class DeviceStoreError(Exception):
    """The device store could not be read or written: that session's failure only."""


def stored_device(session_id: str, device_jid: str) -> str:
    """The device JID to hand neonize, or '' for a new pairing. In a shared store only a
    JID the store holds, matched exactly (``user:device@server`` as paired): neonize
    aborts the process on one it does not hold, and matching by number alone could pick
    a stale device of an earlier pairing. Read from ``whatsmeow_device`` directly:
    neonize's own listing splits rows on commas and breaks on a push name with one.
    A per-session file holds one device, which neonize finds by itself."""
    shared = _shared_url()
    if shared is None or not device_jid:
        return ""
    held = _query(shared, "SELECT jid FROM whatsmeow_device WHERE jid = %s", device_jid)
    return device_jid if held else ""


def _query(url: str, sql: str, *params: str) -> list[tuple[object, ...]]:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            try:
                return connection.execute(sql, params).fetchall()
            except psycopg.errors.UndefinedTable:
                return []  # whatsmeow creates its tables on first use
    except psycopg.Error as exc:
        raise DeviceStoreError(f"device store: {exc.__class__.__name__}: {exc}"[:300]) from exc


def remove(session_id: str, *, device_jid: str = "") -> None:
    """Deletes a session's device keys: its store file and SQLite side files, or, in a
    shared store, its device's rows (whatsmeow's other tables cascade from them)."""
    shared = _shared_url()
    if shared is not None:
        if device_jid:
            _query(shared, "DELETE FROM whatsmeow_device WHERE jid = %s RETURNING jid", device_jid)
        return
    base = file_path(session_id)
    for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-journal")):
        path.unlink(missing_ok=True)

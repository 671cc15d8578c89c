"""An endpoint's attempts in flight, counted across every delivery worker.

Each endpoint has ``GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY`` slots. On PostgreSQL a slot
is a session advisory lock (``pg_try_advisory_lock``) that a sender takes on its own
database connection for its turn on the endpoint and gives back when the turn ends, so
three workers still send at most that many attempts at once to one receiver. A worker
that dies (even by ``kill -9``) loses its connection and with it its slots: PostgreSQL
releases a session's advisory locks when the session ends. Session locks need session
pooling: behind PgBouncer the workers must use a session-mode pool (or connect
directly).

SQLite has no advisory locks; a deployment on SQLite runs one delivery worker, whose own
per-endpoint count is the whole count.
"""

import hashlib

from django.db import connection

# Any bigint would do; the prefix keeps these keys apart from any other advisory lock.
_NAMESPACE = b"whatsapp-gateway:webhook-endpoint-slot:"


def _key(endpoint_id: str, slot: int) -> int:
    digest = hashlib.blake2b(_NAMESPACE + f"{endpoint_id}:{slot}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def shared() -> bool:
    """Whether slots are counted across workers (PostgreSQL) or only within one."""
    return connection.vendor == "postgresql"


def take(endpoint_id: str, *, slots: int) -> int | None:
    """Takes a free slot of the endpoint on this thread's connection; its key, or None
    when every slot is held (by this or another worker)."""
    with connection.cursor() as cursor:
        for slot in range(slots):
            key = _key(endpoint_id, slot)
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            row = cursor.fetchone()
            if row is not None and row[0]:
                return key
    return None


def give_back(key: int) -> None:
    """Releases a slot this thread's connection holds (nothing if the connection was
    lost: its locks went with it)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except Exception:  # a lost connection has already released it
        connection.close()

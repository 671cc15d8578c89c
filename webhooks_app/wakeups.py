"""Waking idle delivery workers at once on PostgreSQL (``LISTEN``/``NOTIFY``).

``record_event`` notifies ``CHANNEL`` inside the event's transaction; PostgreSQL delivers
the notification when that transaction commits (never for one rolled back). Each worker
listens on its own connection, on a thread that sets the worker's wake event, so a
committed event is claimed within milliseconds instead of at the next poll. Polling stays
the fallback: a listener that loses its connection reconnects (and wakes the worker once,
for anything committed meanwhile). SQLite has no notifications: the poll interval is the
bound there.
"""

import logging
import threading
from typing import Any

from django.db import connection, connections

logger = logging.getLogger(__name__)

CHANNEL = "webhook_deliveries"
_PARAMS = ("dbname", "user", "password", "host", "port", "sslmode", "options", "passfile")


def notify() -> None:
    """In an event's transaction: wake the workers when it commits (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Listener:
    def __init__(self, wake: threading.Event, stopping: threading.Event) -> None:
        self.wake = wake
        self.stopping = stopping
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-listen", daemon=True)

    def start(self) -> "Listener":
        if connections["default"].vendor == "postgresql":
            self._thread.start()
        return self

    def _connect(self) -> Any:
        import psycopg

        params = connections["default"].get_connection_params()
        kept = {name: value for name, value in params.items() if name in _PARAMS}
        return psycopg.connect(**kept, autocommit=True, connect_timeout=5)

    def _run(self) -> None:
        failing = False
        while not self.stopping.is_set():
            try:
                with self._connect() as listen:
                    listen.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self.wake.set()  # what was committed while not listening
                    if failing:
                        logger.warning("webhooks: listening for new events again")
                    failing = False
                    while not self.stopping.is_set():
                        for _note in listen.notifies(timeout=1.0, stop_after=1):
                            self.wake.set()
            except Exception as exc:
                self.listening.clear()
                if not failing:
                    logger.warning("webhooks: not listening for new events (%s); polling", exc)
                failing = True
                self.stopping.wait(2.0)

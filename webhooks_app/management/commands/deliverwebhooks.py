import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from webhooks_app.delivery import deliver_due


class Command(BaseCommand):
    help = (
        "Deliver webhooks: sends due deliveries from the outbox, signed, with retries. On "
        "PostgreSQL several run side by side; on SQLite run one. Stops on SIGTERM."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", type=int, default=20, help="deliveries per round")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds to wait when nothing is due"
        )
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
        self.stdout.write(f"delivering webhooks ({connection.vendor})")
        self.stdout.flush()
        while not stopping.is_set():
            close_old_connections()
            try:
                sent = deliver_due(limit=options["batch"])
            except DatabaseError as exc:
                self.stderr.write(f"database unavailable: {exc}")
                sent = 0
            if options["once"]:
                break
            if not sent:
                stopping.wait(options["interval"])

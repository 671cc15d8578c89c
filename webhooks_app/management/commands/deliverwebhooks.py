import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from gateway.metrics import serve_own_metrics
from webhooks_app.delivery import DeliveryWorker, deliver_due
from webhooks_app.wakeups import Listener


class Command(BaseCommand):
    help = (
        "Deliver webhooks: sends due deliveries from the outbox, signed, with retries, "
        "concurrently (--senders threads, each endpoint at most "
        "GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY at once). On PostgreSQL several run side by "
        "side and new events wake them at once; on SQLite run one. Stops on SIGTERM, "
        "finishing the attempts in flight."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--senders",
            type=int,
            default=settings.GATEWAY_WEBHOOK_SENDERS,
            help="attempts in flight at once in this worker (GATEWAY_WEBHOOK_SENDERS; 32)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between polls when idle (PostgreSQL also wakes on new events)",
        )
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            deliver_due(limit=options["senders"])
            return
        stopping = threading.Event()
        worker = DeliveryWorker(senders=options["senders"])

        def stop(signum: int, frame: Any) -> None:
            stopping.set()
            worker.wake.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        Listener(worker.wake, stopping).start()
        serve_own_metrics(settings.GATEWAY_WEBHOOK_METRICS_LISTEN, "webhook delivery")
        self.stdout.write(
            f"delivering webhooks ({connection.vendor}, {worker.senders} senders)", ending="\n"
        )
        self.stdout.flush()
        failing = False
        while not stopping.is_set():
            close_old_connections()
            try:
                worker.run(stopping=stopping, interval=options["interval"])
            except DatabaseError as exc:
                if not failing:
                    self.stderr.write(f"database unavailable: {exc}")
                failing = True
                close_old_connections()
                stopping.wait(options["interval"])
            else:
                failing = False
        worker.close()

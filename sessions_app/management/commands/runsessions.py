import logging
import signal
import threading
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from gateway.debug import refuse_public_debug
from gateway.throttling import prune_expired_counters
from sessions_app.runner.server import RunnerServer
from sessions_app.runner.supervisor import Supervisor

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the session runner: the one process that holds WhatsApp connections. It keeps "
        "every session that should be connected up (reconnecting with backoff), records "
        "each state change, and serves live actions to web processes on GATEWAY_RUNNER_URL. "
        "Stops cleanly on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="seconds between checks for sessions to start or stop (default 2)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.GATEWAY_RUNNER_IN_PROCESS:
            raise CommandError("GATEWAY_RUNNER_IN_PROCESS is set: there is nothing to run")
        address = urlsplit(settings.GATEWAY_RUNNER_URL)
        host, port = address.hostname or "127.0.0.1", address.port or 8001
        problem = refuse_public_debug(host, "the session runner")
        if problem:
            raise CommandError(problem)
        supervisor = Supervisor()
        try:
            server = RunnerServer((host, port), supervisor)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        stopping = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        server.serve_in_thread()
        self.stdout.write(f"session runner listening on http://{host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            while not stopping.is_set():
                close_old_connections()
                try:
                    supervisor.reconcile()
                    prune_expired_counters()  # the runner is the web's janitor too
                except DatabaseError as exc:
                    logger.warning("runner: database unavailable (%s); retrying", exc)
                    close_old_connections()
                stopping.wait(options["interval"])
        finally:
            server.shutdown()
            server.server_close()
            supervisor.stop_all()
        self.stdout.write("session runner stopped")

import logging
import os
import signal
import socket
import threading
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from gateway import http
from gateway.debug import refuse_public_debug
from gateway.metrics import serve_own_metrics
from sessions_app import leases
from sessions_app.runner.database import bound_database_waits
from sessions_app.runner.fleet import FleetConfig, FleetMember
from sessions_app.runner.loop import RunnerLoop
from sessions_app.runner.open_files import connection_cap, raise_to_hard_limit
from sessions_app.runner.server import RunnerServer
from sessions_app.runner.supervisor import Supervisor
from sessions_app.status import SessionStatus
from sessions_app.transitions import session_record_status

logger = logging.getLogger(__name__)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--listen wants HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _answers(url: str) -> bool:
    try:
        http.get_json(f"{url.rstrip('/')}/healthz", timeout=1)
    except http.OutboundError:
        return False
    return True


class Command(BaseCommand):
    help = (
        "Run a session runner: it holds WhatsApp connections (each whatsapp session in a "
        "worker process of its own) for the sessions it leases, keeps them up with backoff, "
        "records each state change, and serves live actions to web processes. Several "
        "runners share the sessions through PostgreSQL leases. Stops cleanly on SIGTERM."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between rounds of lease work and session starts/stops (default 1)",
        )
        parser.add_argument(
            "--listen",
            help="HOST:PORT to listen on (GATEWAY_RUNNER_LISTEN; default: the "
            "host and port of GATEWAY_RUNNER_URL)",
        )
        parser.add_argument(
            "--advertise",
            help="the URL web processes use to reach this runner "
            "(GATEWAY_RUNNER_ADVERTISE_URL; default: the listen address)",
        )
        parser.add_argument(
            "--id", help="this runner's name (GATEWAY_RUNNER_ID; default: host name and pid)"
        )
        parser.add_argument(
            "--capacity",
            type=int,
            help="most sessions this runner holds (GATEWAY_RUNNER_CAPACITY; default 500)",
        )

    def _only_runner(self, runner_id: str, lease_seconds: float) -> None:
        """SQLite: one runner. Another one that still answers is refused; one that died
        (killed, its heartbeat not yet stale) is cleared, and its leases with it, so a
        restarted runner resumes its sessions at once."""
        for other in leases.live_runners(lease_seconds=lease_seconds):
            if other.id == runner_id:
                continue
            if _answers(other.url):
                raise CommandError(
                    f"another session runner ({other.id}) is running on this SQLite "
                    "database; several runners need PostgreSQL (DATABASE_URL=postgres://…)"
                )
            for session_id in leases.forget_dead_runner(other.id):
                # It wrote nothing as it died: what its sessions say is stale.
                session_record_status(
                    session_id=session_id,
                    status=SessionStatus.CONNECTING,
                    reason=f"the runner that held it ({other.id}) died; reconnecting",
                )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.GATEWAY_RUNNER_IN_PROCESS:
            raise CommandError("GATEWAY_RUNNER_IN_PROCESS is set: there is nothing to run")
        default = urlsplit(settings.GATEWAY_RUNNER_URL)
        listen = options["listen"] or settings.GATEWAY_RUNNER_LISTEN
        if listen:
            host, port = _host_port(listen)
        else:
            host, port = default.hostname or "127.0.0.1", default.port or 8001
        advertise = (
            options["advertise"]
            or settings.GATEWAY_RUNNER_ADVERTISE_URL
            or (settings.GATEWAY_RUNNER_URL if not listen else f"http://{host}:{port}")
        )
        runner_id = (
            options["id"] or settings.GATEWAY_RUNNER_ID or (f"{socket.gethostname()}-{os.getpid()}")
        )
        capacity = options["capacity"] or settings.GATEWAY_RUNNER_CAPACITY
        if capacity <= 0:
            raise CommandError("--capacity must be at least 1")
        problem = refuse_public_debug(host, "the session runner")
        if problem:
            raise CommandError(problem)
        lease_seconds = float(settings.GATEWAY_RUNNER_LEASE_SECONDS)
        waits = bound_database_waits(lease_seconds)
        if waits is not None:
            logger.info(
                "runner: database connect timeout %d s, statement timeout %d ms",
                waits.connect_timeout_seconds,
                waits.statement_timeout_ms,
            )
        if connection.vendor == "sqlite":
            self._only_runner(runner_id, lease_seconds)
        member = FleetMember(
            FleetConfig(
                runner_id=runner_id, url=advertise, capacity=capacity, lease_seconds=lease_seconds
            )
        )
        supervisor = Supervisor(fleet=member)
        serve_own_metrics(settings.GATEWAY_RUNNER_METRICS_LISTEN, "runner")
        open_files = raise_to_hard_limit()
        logger.info(
            "runner: open-files limit %d; at most %d connections at once",
            open_files,
            connection_cap(open_files),
        )
        try:
            server = RunnerServer((host, port), supervisor, max_connections=connection_cap())
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        stopping = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        server_thread = server.serve_in_thread()
        loop = RunnerLoop(member=member, supervisor=supervisor, serving=server_thread.is_alive)
        self.stdout.write(
            f"session runner {runner_id} listening on http://{host}:{port} "
            f"(advertised as {advertise}, capacity {capacity})",
            ending="\n",
        )
        self.stdout.flush()
        serving = True
        try:
            while not stopping.is_set():
                serving = loop.step()
                if not serving:
                    break
                stopping.wait(options["interval"])
        finally:
            server.shutdown()
            server.server_close()
            supervisor.stop_all()
            try:
                member.leave()  # others take the sessions over at once
            except DatabaseError as exc:
                logger.warning("runner: could not release leases (%s): they expire", exc)
        if not serving:
            raise CommandError("the runner's HTTP server stopped; the runner left the fleet")
        self.stdout.write("session runner stopped")

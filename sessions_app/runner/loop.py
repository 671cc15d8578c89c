"""The runner's main loop, one step at a time (``runsessions`` calls ``step`` every
``--interval`` seconds; tests call it directly).

A step: checks that the runner's HTTP server still serves (a runner that cannot serve
live actions must not keep leases: the step says stop, and ``runsessions`` exits so that
its supervisor restarts it); does a round of lease work; stops what was lost or handed
back (off the loop; leases go back once nothing of those sessions runs); tells each
worker how long it may hold on; starts and stops sessions to match what is held; and
prunes expired rate-limit counters and live-call slots (and, once a minute, webhook
history and messages past their retention, and send-budget windows that ended). A
database that fails, or the operating system refusing something (too many open files),
costs that round, never the runner: leases that cannot be renewed run out, and their
workers stop by themselves.
"""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections

from gateway.metrics import WORKERS_RUNNING
from gateway.throttling import prune_expired_counters
from messages_app.retention import prune_messages
from sessions_app.live_limits import prune_expired_slots
from sessions_app.runner.fleet import FleetMember
from sessions_app.runner.supervisor import Supervisor
from sessions_app.send_budget import prune_windows
from webhooks_app.retention import prune_history

# Webhook history and messages older than their retention are deleted a batch at a time,
# this often.
HISTORY_PRUNE_SECONDS = 60.0

logger = logging.getLogger(__name__)


class RunnerLoop:
    def __init__(
        self,
        *,
        member: FleetMember,
        supervisor: Supervisor,
        serving: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``serving()``: whether the runner's HTTP server thread is still alive."""
        self.member = member
        self.supervisor = supervisor
        self._serving = serving
        self._failing: str | None = None
        self._clock = clock
        self._next_history_prune = 0.0

    def step(self) -> bool:
        """One round. False when the runner must stop: its HTTP server is gone."""
        if not self._serving():
            logger.error("runner: the HTTP server stopped serving; leaving the fleet")
            return False
        close_old_connections()
        try:
            run, stop = self.member.tick()
            # Lost or handed back: their leases go back once nothing of them runs.
            self.supervisor.stop_in_background(stop, then=self.member.release)
            # Workers hear of the renewal: each may hold on until its next one.
            self.supervisor.confirm_leases()
            self.supervisor.reconcile(wanted=run)
            WORKERS_RUNNING.set(len(self.supervisor.live_ids()))
            prune_expired_counters()  # the runner is the web's janitor too
            prune_expired_slots()
            if self._clock() >= self._next_history_prune:
                prune_history()
                prune_messages()
                prune_windows()
                self._next_history_prune = self._clock() + HISTORY_PRUNE_SECONDS
        except DatabaseError as exc:
            self._failed(f"database unavailable ({exc})")
            close_old_connections()
        except OSError as exc:
            self._failed(str(exc))
        else:
            if self._failing is not None:
                logger.warning("runner: working again after: %s", self._failing)
            self._failing = None
        return True

    def _failed(self, why: str) -> None:
        """Logged once while the same failure lasts."""
        if why != self._failing:
            logger.warning("runner: %s; retrying every round", why)
        self._failing = why

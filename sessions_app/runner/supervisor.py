"""The runner's heart: which sessions are live in this process, and live actions on them.

The runner loop calls ``reconcile`` every few seconds (a step that says whether it did
work); the HTTP server calls ``perform``. Starting and stopping a session are serialised
per session. A connection that ends by failure is retried with capped exponential
backoff; one that ends because the operator must act (logged out, banned) is not, and
its ``desired_connected`` is cleared by the sink.

One process per device, always: a session's new worker is started only once the
previous one (stopped, ended or dead) has exited and been reaped — a worker still in its
stop grace is "retiring", and the session waits for it. A runner of the fleet starts a
worker only while it holds the session's lease, grants the worker the time its lease is
surely valid for, and renews that grant over the pipe after every renewal
(``confirm_leases``): a worker that is not told in time disconnects by itself.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.db import DatabaseError, connections
from django.utils import timezone

from gateway.exceptions import InvalidInput, NotHeldHere
from gateway.metrics import WORKER_RESTARTS
from groups_app.store import group_jids
from sessions_app import device_store
from sessions_app.device_store import DeviceStoreError
from sessions_app.engines.base import LiveSession
from sessions_app.exceptions import SessionNotConnected, SessionNotFound
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.registry import Wire, action_named
from sessions_app.runner.engines import live_session_for
from sessions_app.runner.fleet import FleetMember
from sessions_app.runner.sink import DatabaseSink
from sessions_app.runner.workers import WorkerSession, as_remote
from sessions_app.transitions import session_record_retry, session_record_status

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


def backoff_delay(failures: int) -> float:
    """2, 4, 8 … seconds after the 1st, 2nd, 3rd failure, never more than 5 minutes."""
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0)))


class Supervisor:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        allow_whatsapp: bool = True,
        factory: Callable[..., LiveSession] = live_session_for,
        fleet: FleetMember | None = None,
    ) -> None:
        """``allow_whatsapp=False``: a supervisor inside a web process (tests) serves
        sandbox sessions only; neonize is never loaded there."""
        self._clock = clock
        self._allow_whatsapp = allow_whatsapp
        self._factory = factory
        # A runner of the fleet runs only the sessions it holds by lease.
        self._fleet = fleet
        self._live: dict[str, LiveSession] = {}
        # Stopped or ended worker sessions whose process may still be running.
        self._retiring: dict[str, WorkerSession] = {}
        # Sessions a background stopper is stopping now (``stop_in_background``).
        self._being_stopped: set[str] = set()
        self._locks: dict[str, threading.Lock] = {}
        self._registry_lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    # -- bookkeeping ----------------------------------------------------------------

    def _lock_for(self, session_id: str) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(session_id, threading.Lock())

    def live_ids(self) -> set[str]:
        return set(self._live)

    def retry_at(self, session_id: str) -> float | None:
        return self._retry_at.get(session_id)

    def _retire(self, session_id: str) -> LiveSession | None:
        """Takes the session's live session out of service (the caller holds its lock);
        a worker stays known until its process is gone."""
        live = self._live.pop(session_id, None)
        worker = as_remote(live)
        if worker is not None:
            self._retiring[session_id] = worker
        return live

    def _previous_still_running(self, session_id: str) -> bool:
        """A previous worker of the session has not exited (or not been reaped) yet."""
        previous = self._retiring.get(session_id)
        if previous is None:
            return False
        if previous.exited():
            self._retiring.pop(session_id, None)
            return False
        return True

    def _ended(self, session_id: str, retry: bool) -> None:
        delay: float | None = None
        with self._lock_for(session_id):
            self._retire(session_id)
            if retry:
                WORKER_RESTARTS.inc()
                failures = self._failures.get(session_id, 0) + 1
                self._failures[session_id] = failures
                delay = backoff_delay(failures)
                self._retry_at[session_id] = self._clock() + delay
                logger.info("session %s: retrying in %.0fs", session_id, delay)
            else:
                self._failures.pop(session_id, None)
                self._retry_at.pop(session_id, None)
        # An end without a retry needs no write: its report (logged out, banned …) ended
        # the wish to connect, which clears the retry time (sessions_app.transitions).
        if delay is not None:
            self._show_retry(session_id, delay)

    def _show_retry(self, session_id: str, delay: float) -> None:
        """Writes the next retry's wall-clock time on the session (the operator's view
        of the backoff); a runner of the fleet only while it holds the lease."""
        fence = None
        if self._fleet is not None:
            fence = self._fleet.fence_for(session_id)
            if fence is None:
                return
        at = timezone.now() + timedelta(seconds=delay)
        try:
            session_record_retry(session_id=session_id, at=at, fence=fence)
        except DatabaseError:
            logger.warning("session %s: could not record its next retry", session_id)

    # -- steps ----------------------------------------------------------------------

    def reconcile(self, wanted: set[str] | None = None) -> bool:
        """Starts sessions that should be connected (when their retry is due) and stops
        those that should not: ``wanted``, or every session that wants a connection.
        Returns whether it changed anything."""
        if wanted is None:
            wanted = set(
                WhatsAppSession.objects.filter(desired_connected=True).values_list("id", flat=True)
            )
        changed = False
        now = self._clock()
        for session_id in sorted(wanted - self.live_ids()):
            if now >= self._retry_at.get(session_id, 0):
                self.start(session_id)
                changed = True
        unwanted = self.live_ids() - wanted
        self.stop_in_background(unwanted)
        changed = changed or bool(unwanted)
        for session_id, live in list(self._live.items()):
            if live.connected and self._failures.pop(session_id, None) is not None:
                self._retry_at.pop(session_id, None)
        return changed

    def start(self, session_id: str) -> LiveSession | None:
        with self._lock_for(session_id):
            live = self._live.get(session_id)
            if live is not None:
                return live
            if self._previous_still_running(session_id):
                logger.info("session %s: waiting for its previous worker to exit", session_id)
                return None
            fleet = self._fleet
            if fleet is not None and fleet.lease_hold(session_id) <= 0:
                return None  # not held, or not for long enough to start a connection
            session = WhatsAppSession.objects.filter(pk=session_id).first()
            if session is None:
                return None
            # Said before the session counts as live here: until it reports, it is not
            # connected.
            if fleet is not None:
                self._record_new_connection(session, fleet)
            try:
                fence = fleet.fence_for(session_id) if fleet else None
                live = self._factory(
                    session,
                    sink=DatabaseSink(session_id, fence=fence),
                    on_ended=partial(self._ended, session_id),
                    allow_whatsapp=self._allow_whatsapp,
                    lease_hold=partial(fleet.lease_hold, session_id) if fleet else None,
                )
            except DeviceStoreError as exc:
                failure: DeviceStoreError | None = exc
                live = None
            else:
                failure = None
                self._live[session_id] = live
        if failure is not None or live is None:
            # This session's store is unreadable: its failure, never the runner's.
            session_record_status(
                session_id=session_id, status=SessionStatus.DISCONNECTED, reason=str(failure)
            )
            self._ended(session_id, True)
            return None
        try:
            live.start()
        except OSError as exc:
            # The system refused the worker (too many open files, no memory): this
            # session waits out a backoff; the others start as usual.
            with self._lock_for(session_id):
                if self._live.get(session_id) is live:
                    del self._live[session_id]
            logger.warning("session %s: could not start its worker: %s", session_id, exc)
            session_record_status(
                session_id=session_id,
                status=SessionStatus.DISCONNECTED,
                reason=f"could not start the session worker ({exc}); retrying with backoff",
            )
            self._ended(session_id, True)
            return None
        return live

    def _record_new_connection(self, session: WhatsAppSession, fleet: FleetMember) -> None:
        """A connection starts here, taken over from a runner whose lease expired (it
        died, or was paused or cut off, and wrote nothing): the session says so, and from
        whom, before it counts as live here. So readers see the outage, and "connected
        since" is the start of this connection. (A runner of the fleet only: the
        in-process supervisor of tests holds no lease.)"""
        previous = fleet.taken_over_from(session.id)
        if previous is None:
            return  # a free lease, or one handed over: the engine's reports say the rest
        reason = f"taken over from runner {previous}, which stopped renewing its lease"
        session_record_status(
            session_id=session.id,
            status=SessionStatus.CONNECTING,
            reason=reason,
            fence=fleet.fence_for(session.id),
        )

    def stop(self, session_id: str) -> None:
        """Stops the session here and returns once nothing of it runs any more: its live
        session stopped, and any worker process of it (one that ended its connection by
        itself included) exited and reaped."""
        with self._lock_for(session_id):
            live = self._retire(session_id)
            leaving = self._retiring.get(session_id)
        if live is not None:
            live.stop()
        if leaving is not None and leaving is not live:
            leaving.stop()
        with self._lock_for(session_id):
            self._previous_still_running(session_id)  # forgets it once it has gone

    def stop_in_background(
        self, session_ids: set[str], then: Callable[[set[str]], None] | None = None
    ) -> None:
        """Takes the sessions out of service now and stops them on a thread of their own,
        all at once, then calls ``then(session_ids)`` (e.g. give their leases back): the
        runner's loop goes on renewing its other leases while workers take their time."""
        with self._registry_lock:
            session_ids = set(session_ids) - self._being_stopped
            self._being_stopped |= session_ids
        if not session_ids:
            return
        for session_id in session_ids:
            with self._lock_for(session_id):
                self._retire(session_id)

        def run() -> None:
            try:
                self._stop_together(session_ids)
                if then is not None:
                    then(session_ids)
            except Exception:
                logger.exception("stopping sessions %s failed", sorted(session_ids))
            finally:
                with self._registry_lock:
                    self._being_stopped -= session_ids
                connections.close_all()

        threading.Thread(target=run, name="session-stopper", daemon=True).start()

    def _stop_together(self, session_ids: "set[str] | list[str]") -> None:
        stoppers = [threading.Thread(target=self.stop, args=(sid,)) for sid in session_ids]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    def confirm_leases(self) -> None:
        """After a round of lease work: each worker hears how long it may hold on."""
        for live in list(self._live.values()):
            worker = as_remote(live)
            if worker is not None:
                worker.confirm_lease()

    def stop_all(self, *, record: bool = True) -> None:
        """Stops every live session (SIGTERM), all at once: each worker process gets the
        same few seconds to go. ``record`` notes it in their status."""
        session_ids = list(self._live)
        # Those still leaving too: the leases go back only once nothing runs.
        self._stop_together(set(session_ids) | set(self._retiring))
        for session_id in session_ids:
            if record:
                session_record_status(
                    session_id=session_id,
                    status=SessionStatus.DISCONNECTED,
                    reason="the session runner stopped",
                )

    # -- live actions ---------------------------------------------------------------

    def perform(self, session_id: str, action: str, payload: Wire) -> Wire:
        """Runs a row of the live-action registry: its payload is checked here, where it
        enters the runner, whoever sent it."""
        spec = action_named(action)
        if spec is None:
            raise InvalidInput(details={"action": [f"unknown action {action!r}"]})
        checked = spec.payload.from_wire(payload)
        if spec.on_engine:
            worker = as_remote(self.connected_live(session_id))
            if worker is not None:
                # The engine is in the session's worker process: the row runs there.
                before = spec.known_groups_before
                known = (
                    group_jids(session_id=session_id, stored_before=before(checked))
                    if before is not None
                    else []
                )
                return worker.call(
                    spec.name, checked.to_wire(), known_jids=known, timeout=spec.timeout
                )
        return spec.result_to_wire(spec.run(_Target(self, session_id), checked))

    def connect(self, session_id: str) -> None:
        if not WhatsAppSession.objects.filter(pk=session_id).exists():
            raise SessionNotFound()
        if self._fleet is not None and not self._fleet.try_claim(session_id):
            raise NotHeldHere()
        self._retry_at.pop(session_id, None)
        self._failures.pop(session_id, None)
        self.start(session_id)

    def release(self, session_id: str) -> None:
        self.stop(session_id)
        if self._fleet is not None:
            self._fleet.release({session_id})
        device = WhatsAppSession.objects.filter(pk=session_id).values_list("device_jid", flat=True)
        device_store.remove(session_id, device_jid=device.first() or "")

    def connected_live(self, session_id: str) -> LiveSession:
        live = self._live.get(session_id)
        if live is None and self._fleet is not None and session_id not in self._fleet.held():
            raise NotHeldHere()
        if (
            live is None
            and self._clock() >= self._retry_at.get(session_id, 0)
            and WhatsAppSession.objects.filter(pk=session_id, desired_connected=True).exists()
        ):
            # Wanted but not running here yet (e.g. just after the runner started). One
            # waiting out its backoff stays down: a call does not spawn a process.
            live = self.start(session_id)
        if live is None:
            raise SessionNotConnected()
        return live


class _Target:
    """A session as a registry row's ``run`` sees it."""

    def __init__(self, supervisor: Supervisor, session_id: str) -> None:
        self._supervisor = supervisor
        self.session_id = session_id

    def live(self) -> LiveSession:
        return self._supervisor.connected_live(self.session_id)

    def connect(self) -> None:
        self._supervisor.connect(self.session_id)

    def release(self) -> None:
        self._supervisor.release(self.session_id)

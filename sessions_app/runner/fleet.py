"""A runner as a member of the fleet: which sessions it holds, by lease.

Each tick (``runsessions``' loop) the member: reports its heartbeat; renews its leases
every third of a lease (so a renewal is 10 s ahead at the default 15 s); stops at once
any session whose lease it lost, or all of them when it cannot renew in time (the
database is unreachable: another runner may take them over, and two connections on one
WhatsApp account make WhatsApp drop both); hands back sessions no longer wanted or above
its fair share (the wanted sessions divided among live runners, so a new runner gets its
share from the others without stealing a live lease); and claims free or expired
leases up to its share and capacity. The supervisor then runs exactly the held sessions.

Each lease is known to be valid until ``lease_seconds`` after the statement that claimed
or renewed it was sent (the database sets the expiry a little later still). Workers are
granted a third of a lease less than that (``lease_hold``): a worker that hears of no
renewal disconnects before the lease can expire and be claimed by another runner.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db import DatabaseError

from sessions_app import leases
from sessions_app.leases import Fence
from sessions_app.models import Runner, WhatsAppSession

logger = logging.getLogger(__name__)


class LeaseStore(Protocol):
    """The lease statements a fleet member runs (``sessions_app.leases``)."""

    def db_now(self) -> datetime: ...

    def heartbeat(
        self, *, runner_id: str, url: str, capacity: int, load: int, started_at: datetime
    ) -> None: ...

    def claim(
        self,
        *,
        runner_id: str,
        url: str,
        lease_seconds: float,
        limit: int,
        only: str | None = None,
    ) -> dict[str, int]: ...

    def expired_holders(self, *, only: str | None = None) -> dict[str, str]: ...

    def renew(self, *, runner_id: str, held: dict[str, int], lease_seconds: float) -> set[str]: ...

    def release(self, *, runner_id: str, held: dict[str, int]) -> None: ...

    def live_runners(self, *, lease_seconds: float) -> list[Runner]: ...

    def runner_gone(self, runner_id: str) -> None: ...


@dataclass(frozen=True)
class FleetConfig:
    runner_id: str
    url: str
    capacity: int
    lease_seconds: float


class FleetMember:
    def __init__(
        self,
        config: FleetConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        store: LeaseStore = leases,
    ) -> None:
        """``clock`` (monotonic seconds) and ``store`` (the lease statements; the
        ``sessions_app.leases`` module) are the member's only contact with time and the
        database: a test can step it without sleeping."""
        self.config = config
        self._clock = clock
        self._store = store
        self._held: dict[str, int] = {}
        # session id → the clock's time until which its lease is surely still ours
        self._valid_until: dict[str, float] = {}
        # Handed back: being stopped, their leases released once nothing of them runs.
        self._giving: set[str] = set()
        # Claimed from a runner whose lease had expired: session id → that runner's id.
        self._taken_over: dict[str, str] = {}
        self._lock = threading.Lock()
        self._started_at: datetime | None = None
        self._next_renew = 0.0
        self._renewed_at = self._clock()

    # -- what the supervisor asks ----------------------------------------------------

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def fence_for(self, session_id: str) -> Fence | None:
        with self._lock:
            token = self._held.get(session_id)
        return Fence(self.config.runner_id, token) if token is not None else None

    def lease_hold(self, session_id: str) -> float:
        """Seconds from now that a worker of ``session_id`` may hold its connection on
        the strength of this runner's lease (0 when the lease is not held)."""
        with self._lock:
            held = session_id in self._held and session_id not in self._giving
            until = self._valid_until.get(session_id) if held else None
        if until is None:
            return 0.0
        return max(0.0, until - self.config.lease_seconds / 3 - self._clock())

    def taken_over_from(self, session_id: str) -> str | None:
        """The runner this one took the session over from (its lease had expired), once:
        asked when the session is started here."""
        with self._lock:
            return self._taken_over.pop(session_id, None)

    def _claim(self, limit: int, only: str | None = None) -> dict[str, int]:
        """Claims, remembering from whom an expired lease was taken over."""
        previous = self._store.expired_holders(only=only)
        sent_at = self._clock()
        claimed = self._store.claim(
            runner_id=self.config.runner_id,
            url=self.config.url,
            lease_seconds=self.config.lease_seconds,
            limit=limit,
            only=only,
        )
        self._hold(claimed, sent_at)
        with self._lock:
            for session_id in claimed:
                holder = previous.get(session_id)
                if holder and holder != self.config.runner_id:
                    self._taken_over[session_id] = holder
        return claimed

    def _hold(self, tokens: dict[str, int], sent_at: float) -> None:
        """Records leases claimed or renewed by a statement sent at ``sent_at``."""
        with self._lock:
            self._held.update(tokens)
            for session_id in tokens:
                self._valid_until[session_id] = sent_at + self.config.lease_seconds

    def _forget(self, session_ids: set[str]) -> None:
        with self._lock:
            for session_id in session_ids:
                self._held.pop(session_id, None)
                self._valid_until.pop(session_id, None)
                self._giving.discard(session_id)

    def try_claim(self, session_id: str) -> bool:
        """Holds ``session_id`` if it is free (a connect, or a call for a session nobody
        holds yet), capacity permitting."""
        with self._lock:
            if session_id in self._held:
                return True
            if len(self._held) >= self.config.capacity:
                return False
        return session_id in self._claim(1, only=session_id)

    # -- the loop ----------------------------------------------------------------------

    def tick(self) -> tuple[set[str], set[str]]:
        """One round of lease work. Returns (sessions to run, sessions to stop now: lost,
        or to be handed back — ``release`` those once stopped)."""
        now = self._clock()
        lost: set[str] = set()
        try:
            if self._started_at is None:
                self._started_at = self._store.db_now()
            self._store.heartbeat(
                runner_id=self.config.runner_id,
                url=self.config.url,
                capacity=self.config.capacity,
                load=len(self._held),
                started_at=self._started_at,
            )
            if now >= self._next_renew:
                lost |= self._renew(now)
            giving = self._hand_back()
            with self._lock:
                self._giving |= giving
                giving = set(self._giving)
            lost |= giving
            self._claim_share()
        except DatabaseError as exc:
            logger.warning("runner %s: lease work failed: %s", self.config.runner_id, exc)
            if now - self._renewed_at > self.config.lease_seconds * 2 / 3:
                # Cannot prove we still hold anything: let go before others take over.
                with self._lock:
                    lost |= set(self._held)
                    self._held.clear()
                    self._valid_until.clear()
                    self._giving.clear()
        return self.held() - lost, lost

    def _renew(self, now: float) -> set[str]:
        with self._lock:
            held = dict(self._held)
        kept = self._store.renew(
            runner_id=self.config.runner_id, held=held, lease_seconds=self.config.lease_seconds
        )
        self._hold({session_id: held[session_id] for session_id in kept}, now)
        lost = set(held) - kept
        self._forget(lost)
        if lost:
            logger.warning("runner %s: lost the leases of %s", self.config.runner_id, sorted(lost))
        self._renewed_at = now
        self._next_renew = now + self.config.lease_seconds / 3
        return lost

    def _share(self) -> int:
        runners = max(1, len(self._store.live_runners(lease_seconds=self.config.lease_seconds)))
        wanted = WhatsAppSession.objects.filter(desired_connected=True).count()
        return min(self.config.capacity, math.ceil(wanted / runners))

    def _hand_back(self) -> set[str]:
        """Sessions no longer wanted, and those above this runner's share: stopped by the
        caller, and released once stopped (``release``)."""
        with self._lock:
            held = set(self._held) - self._giving
        wanted = set(
            WhatsAppSession.objects.filter(pk__in=held, desired_connected=True).values_list(
                "pk", flat=True
            )
        )
        excess = len(wanted) - self._share()
        giving = (held - wanted) | set(sorted(wanted)[: max(excess, 0)])
        return giving

    def _claim_share(self) -> None:
        with self._lock:
            room = self._share() - len(self._held)
        if room <= 0:
            return
        self._claim(room)

    def release(self, session_ids: set[str]) -> None:
        """Gives up leases of sessions this runner has stopped."""
        with self._lock:
            giving = {sid: self._held.pop(sid) for sid in session_ids if sid in self._held}
            for session_id in session_ids:
                self._valid_until.pop(session_id, None)
                self._giving.discard(session_id)
        if giving:
            self._store.release(runner_id=self.config.runner_id, held=giving)

    def leave(self) -> None:
        """SIGTERM: every session is stopped; release all and leave the fleet."""
        self.release(self.held())
        self._store.runner_gone(self.config.runner_id)

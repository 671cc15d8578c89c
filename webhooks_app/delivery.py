"""Sending deliveries: claim due ones, send them concurrently, record outcomes in batches.

**Claims.** A worker claims due deliveries (``pending`` or ``retrying``, their time come)
by writing its claim token and ``locked_until`` (the attempt's deadline plus a margin)
in one conditional UPDATE, so two workers never hold the same delivery. A worker killed
mid-batch leaves its claims to expire; another (or the same, restarted) sends those
deliveries again with the same ``webhook-id``. Delivery is at least once. Only the
holder of a claim records its outcome: a claim that expired and was taken by another
worker is not overwritten.

**Isolation.** At most ``GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY`` (4) attempts are in flight
per endpoint, counted across all workers on PostgreSQL (``endpoint_slots``: a sender
takes one of the endpoint's slots for its turn), and one organization takes at most
half of a worker's senders. A
worker holds for an endpoint what that endpoint takes in about ``QUEUE_SECONDS`` beyond
its slots (nothing beyond them for a slow one, so no claim waits long; one that did is
renewed before it is sent), and leaves an endpoint whose queue is still half full out of
its next claim, so one busy endpoint's backlog never fills every claim. A slow or failing
receiver therefore holds only its own slots, and with the total deadline per attempt
(``sender``), never for longer than the deadline.

**Throughput.** ``GATEWAY_WEBHOOK_SENDERS`` (32) threads per worker, each with kept
connections per receiver (``sender.Transport``); a sender that finishes takes its
endpoint's next waiting delivery itself. Outcomes are written in batches while the
senders go on: one UPDATE statement (``executemany``) and one INSERT of the attempt log
per batch, in one transaction.

**Wake-ups.** On PostgreSQL an event's transaction notifies ``webhook_deliveries`` and an
idle worker listening on it claims at once (``wakeups``); polling every ``--interval``
seconds stays as the fallback, and is the bound on SQLite.

2xx within the deadline is success. Anything else is retried after about 5 s, 5 min,
30 min, 2 h, 5 h, 10 h and 10 h (with jitter), then the delivery is dead. A receiver
answering 410 Gone has its endpoint disabled (its other deliveries are paused) and the
delivery dies at once.
"""

import json
import logging
import queue
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from gateway.metrics import WEBHOOK_ATTEMPT_LATENCY, WEBHOOK_ATTEMPTS
from gateway.version import VERSION
from webhooks_app import endpoint_slots, signing
from webhooks_app.events import event_body
from webhooks_app.models import (
    SENDABLE,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
)
from webhooks_app.sender import Outcome, Transport

logger = logging.getLogger(__name__)

RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
USER_AGENT = f"whatsapp-gateway/{VERSION} (+webhooks)"
__all__ = [
    "USER_AGENT",
    "DeliveryWorker",
    "Outcome",
    "claim_due",
    "deliver_due",
    "record",
    "release",
    "renew",
]


def _lock_seconds() -> float:
    return float(settings.GATEWAY_WEBHOOK_LOCK_SECONDS)


def claim_due(
    *, limit: int, room: Callable[[str], int] | None = None, skip: Iterable[str] = ()
) -> list[WebhookDelivery]:
    """Claims up to ``limit`` due deliveries, oldest first: at most ``room(endpoint)`` of
    each endpoint (unlimited without ``room``), none of the endpoints in ``skip``."""
    if limit <= 0:
        return []
    now = timezone.now()
    claim = secrets.token_hex(16)
    lock = now + timedelta(seconds=_lock_seconds())
    with transaction.atomic():
        candidates = (
            WebhookDelivery.objects.filter(status__in=SENDABLE, next_attempt_at__lte=now)
            .exclude(locked_until__gt=now)
            .exclude(endpoint_id__in=list(skip))
            .order_by("next_attempt_at")
        )
        if connection.vendor == "postgresql":
            # Workers claiming at once take different rows instead of queueing on the
            # same oldest ones.
            candidates = candidates.select_for_update(skip_locked=True)
        taken: Counter[str] = Counter()
        chosen: list[str] = []
        for delivery_id, endpoint_id in candidates.values_list("id", "endpoint_id")[: limit * 2]:
            if room is not None and taken[endpoint_id] >= room(endpoint_id):
                continue
            chosen.append(delivery_id)
            taken[endpoint_id] += 1
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        # Conditional as well: on SQLite (one writer at a time) and for rows another
        # worker claimed between its commit and this read.
        WebhookDelivery.objects.filter(id__in=chosen, status__in=SENDABLE).exclude(
            locked_until__gt=now
        ).update(locked_until=lock, claim=claim)
    return list(
        WebhookDelivery.objects.filter(id__in=chosen, claim=claim)
        .select_related("endpoint", "event")
        .order_by("next_attempt_at")
    )


def renew(delivery: WebhookDelivery) -> bool:
    """Extends a claim that waited in this worker's queue; False when it is no longer
    ours (it expired and another worker took it)."""
    lock = timezone.now() + timedelta(seconds=_lock_seconds())
    held = WebhookDelivery.objects.filter(pk=delivery.pk, claim=delivery.claim)
    if not held.update(locked_until=lock):
        return False
    delivery.locked_until = lock
    return True


def release(deliveries: list[WebhookDelivery]) -> int:
    """Gives back claims not sent (still ours): they are due again at once, for any
    worker."""
    held = [(delivery.pk, delivery.claim) for delivery in deliveries]
    if not held:
        return 0
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET locked_until = NULL, claim = '' "  # noqa: S608
            "WHERE id = %s AND claim = %s",
            held,
        )
        return int(cursor.rowcount)


def send(delivery: WebhookDelivery, transport: Transport) -> Outcome:
    endpoint = delivery.endpoint
    body = json.dumps(event_body(delivery.event), separators=(",", ":")).encode()
    now = timezone.now()
    keys = [endpoint.secret]
    if endpoint.previous_secret and (endpoint.previous_secret_until or now) > now:
        keys.append(endpoint.previous_secret)
    headers = signing.headers(keys, msg_id=delivery.event_id, timestamp=int(time.time()), body=body)
    headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
    return transport.post(
        endpoint.url, body, headers, timeout=float(settings.GATEWAY_WEBHOOK_TIMEOUT_SECONDS)
    )


def _next_state(delivery: WebhookDelivery, outcome: Outcome) -> tuple[str, datetime | None]:
    attempts = delivery.attempts + 1
    if outcome.ok:
        return DeliveryStatus.SUCCEEDED, delivery.next_attempt_at
    if outcome.status_code == 410 or attempts > len(RETRY_DELAYS):
        return DeliveryStatus.DEAD, delivery.next_attempt_at
    delay = RETRY_DELAYS[attempts - 1] * random.uniform(0.9, 1.1)  # noqa: S311 (jitter)
    return DeliveryStatus.RETRYING, timezone.now() + timedelta(seconds=delay)


def record(results: list[tuple[WebhookDelivery, Outcome]]) -> int:
    """Writes a batch of attempts' outcomes (each only while its claim is still the one
    that sent it) and their attempt log, in one transaction: one UPDATE statement and
    one INSERT for the whole batch. Returns how many deliveries were updated."""
    if not results:
        return 0
    from webhooks_app.services import endpoint_disable

    now = timezone.now()
    rows = []
    gone: set[str] = set()
    for delivery, outcome in results:
        status, next_at = _next_state(delivery, outcome)
        rows.append(
            (
                status,
                next_at,
                outcome.status_code,
                outcome.error[:500],
                now,
                delivery.pk,
                delivery.claim,
            )
        )
        if outcome.status_code == 410:
            gone.add(delivery.endpoint_id)
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET attempts = attempts + 1, locked_until = NULL, "  # noqa: S608
                "claim = '', status = %s, next_attempt_at = %s, last_status_code = %s, "
                "last_error = %s, updated_at = %s WHERE id = %s AND claim = %s",
                rows,
            )
            updated = int(cursor.rowcount)
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery_id=delivery.pk,
                started_at=outcome.started_at or now,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error[:500],
                response_body=outcome.response_body[:1024],
            )
            for delivery, outcome in results
        )
        for endpoint_id in gone:
            endpoint_disable(endpoint_id=endpoint_id, reason="the receiver answered 410 Gone")
    if 0 <= updated < len(rows):
        logger.warning(
            "%d of %d deliveries: claim lost during the attempt; not recorded",
            len(rows) - updated,
            len(rows),
        )
    return updated


@dataclass
class _Receiver:
    """One endpoint, as this worker sees it: claimed deliveries waiting for a sender,
    attempts in flight, and how long its attempts take (to size the queue)."""

    organization_id: int
    waiting: deque[WebhookDelivery] = field(default_factory=deque)
    in_flight: int = 0
    average_seconds: float | None = None
    busy_until: float = 0.0  # all its slots were held by other workers: not before then

    def depth(self, cap: int) -> int:
        """How many of its deliveries this worker holds at once: the attempts in flight,
        plus as many waiting as it sends within ``QUEUE_SECONDS`` (none for a slow one:
        a waiting claim must not run out)."""
        if self.average_seconds is None:
            return cap
        rounds = int(QUEUE_SECONDS / max(self.average_seconds, 0.0005))
        return cap + cap * max(0, min(rounds, MAX_QUEUED_ROUNDS))


# A claim waits in a worker's queue at most about this long (well within its margin).
QUEUE_SECONDS = 2.0
MAX_QUEUED_ROUNDS = 64
# How long a worker leaves an endpoint whose slots other workers hold before it asks again.
BUSY_BACKOFF_SECONDS = 0.05


class DeliveryWorker:
    """A worker's senders, its claims and what it knows of each endpoint.

    Each endpoint has at most ``GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY`` attempts in flight
    (in this worker, and on PostgreSQL in all workers together), and one organization at
    most half of the senders; what a fast endpoint has claimed beyond that waits in the
    worker's queue for it (as much as it sends in about 2 s), so its slots are refilled
    without a database round trip. ``step`` records what finished, sends what may go,
    and claims more when queues run low; ``run`` repeats it until told to stop."""

    def __init__(self, *, senders: int | None = None) -> None:
        self.senders = senders or settings.GATEWAY_WEBHOOK_SENDERS
        self.cap = settings.GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY
        self.org_share = max(self.cap, self.senders // 2)
        self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix="webhook-sender")
        self._local = threading.local()
        self._transports: list[Transport] = []
        self._sender_connections: list[BaseDatabaseWrapper] = []
        self._done: queue.SimpleQueue[tuple[WebhookDelivery, Outcome]] = queue.SimpleQueue()
        self._receivers: dict[str, _Receiver] = {}
        self._org_in_flight: Counter[int] = Counter()
        self._in_flight = 0
        self._next_claim = 0.0
        self._lock = threading.Lock()
        self._shared_slots = endpoint_slots.shared()
        self.wake = threading.Event()

    def _transport(self) -> Transport:
        transport: Transport | None = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = Transport()
            with self._lock:
                self._transports.append(transport)
                self._sender_connections.append(connections[DEFAULT_DB_ALIAS])
        return transport

    def _attempt(self, delivery: WebhookDelivery) -> Outcome:
        try:
            outcome = send(delivery, self._transport())
        except Exception as exc:  # a bug must not lose the claim's outcome
            logger.exception("delivery %s: sending failed", delivery.id)
            outcome = Outcome(False, None, f"internal error: {exc.__class__.__name__}")
        if not outcome.ok:
            logger.info("delivery %s: %s", delivery.id, outcome.error)
        return outcome

    def _send(self, receiver: _Receiver, delivery: WebhookDelivery) -> None:
        """A sender's turn on one endpoint's slot: it sends, then takes the endpoint's
        next waiting delivery itself (no round trip through the dispatcher) until none
        waits; then the slot is free."""
        slot = None
        if self._shared_slots:
            slot = endpoint_slots.take(delivery.endpoint_id, slots=self.cap)
            if slot is None:
                # Every slot of the endpoint is in use by other workers: this one gives
                # its claims of the endpoint back (a worker sending to it takes them)
                # and leaves the endpoint alone for a moment.
                with self._lock:
                    returned = [delivery, *receiver.waiting]
                    receiver.waiting.clear()
                    receiver.busy_until = time.monotonic() + BUSY_BACKOFF_SECONDS
                    self._free_slot(receiver)
                release(returned)
                return
        try:
            if self._still_held(delivery):
                self._send_turn(receiver, delivery)
            else:
                with self._lock:
                    self._free_slot(receiver)
        finally:
            if slot is not None:
                endpoint_slots.give_back(slot)

    def _send_turn(self, receiver: _Receiver, delivery: WebhookDelivery) -> None:
        next_one: WebhookDelivery | None = delivery
        while next_one is not None:
            self._done.put((next_one, self._attempt(next_one)))
            self.wake.set()
            with self._lock:
                next_one = receiver.waiting.popleft() if receiver.waiting else None
                if next_one is None:
                    self._free_slot(receiver)
            if next_one is not None and not self._still_held(next_one):
                next_one = None
                with self._lock:
                    self._free_slot(receiver)

    def _free_slot(self, receiver: _Receiver) -> None:
        """A turn ended (under ``self._lock``): one fewer in flight."""
        receiver.in_flight -= 1
        self._org_in_flight[receiver.organization_id] -= 1
        self._in_flight -= 1

    @staticmethod
    def _still_held(delivery: WebhookDelivery) -> bool:
        """A claim that waited long enough to be near its end is renewed first."""
        soon = timezone.now() + timedelta(seconds=settings.GATEWAY_WEBHOOK_TIMEOUT_SECONDS + 2)
        if delivery.locked_until is None or delivery.locked_until >= soon:
            return True
        if renew(delivery):
            return True
        logger.warning("delivery %s: claim lost while waiting; skipped", delivery.id)
        return False

    def in_flight(self) -> int:
        return self._in_flight

    def held(self) -> int:
        """Deliveries this worker holds: in flight and waiting for a sender."""
        with self._lock:
            return self._in_flight + sum(len(r.waiting) for r in self._receivers.values())

    def _room(self, endpoint_id: str) -> int:
        receiver = self._receivers.get(endpoint_id)
        if receiver is None:
            return self.cap
        if receiver.busy_until > time.monotonic():
            return 0
        return receiver.depth(self.cap) - receiver.in_flight - len(receiver.waiting)

    def _finish(self) -> int:
        finished = []
        while True:
            try:
                finished.append(self._done.get_nowait())
            except queue.Empty:
                break
        if not finished:
            return 0
        record(finished)
        for delivery, outcome in finished:
            WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.ok else "failed").inc()
            WEBHOOK_ATTEMPT_LATENCY.observe(outcome.duration_ms / 1000)
            receiver = self._receivers.get(delivery.endpoint_id)
            if receiver is None:
                continue
            seconds = outcome.duration_ms / 1000
            previous = receiver.average_seconds
            receiver.average_seconds = (
                seconds if previous is None else 0.8 * previous + 0.2 * seconds
            )
        return len(finished)

    def _dispatch(self) -> None:
        now = time.monotonic()
        with self._lock:
            for receiver in self._receivers.values():
                if receiver.busy_until > now:
                    continue
                while (
                    receiver.waiting
                    and receiver.in_flight < self.cap
                    and self._in_flight < self.senders
                    and self._org_in_flight[receiver.organization_id] < self.org_share
                ):
                    delivery = receiver.waiting.popleft()
                    receiver.in_flight += 1
                    self._org_in_flight[receiver.organization_id] += 1
                    self._in_flight += 1
                    self._pool.submit(self._send, receiver, delivery)

    def _claim(self, *, now: float) -> int:
        """Claims more when a queue with room runs low, or when it is time to look again
        (the poll interval, or woken: an event committed, a sender finished)."""
        low = not self._found_nothing and any(
            self._room(endpoint_id) > 0 and len(receiver.waiting) * 2 < receiver.depth(self.cap)
            for endpoint_id, receiver in self._receivers.items()
        )
        if now < self._next_claim and not low:
            return 0
        room = 4 * self.senders + sum(max(0, self._room(e)) for e in self._receivers)
        # Endpoints with a good part of their queue still waiting are left out, so the
        # oldest due deliveries of one busy endpoint do not fill every claim.
        skip = [
            endpoint_id
            for endpoint_id, receiver in self._receivers.items()
            if len(receiver.waiting) * 2 >= receiver.depth(self.cap) or self._room(endpoint_id) <= 0
        ]
        claimed = claim_due(limit=room, room=self._room, skip=skip)
        with self._lock:
            for delivery in claimed:
                receiver = self._receivers.get(delivery.endpoint_id)
                if receiver is None:
                    receiver = self._receivers[delivery.endpoint_id] = _Receiver(
                        organization_id=delivery.endpoint.organization_id
                    )
                receiver.waiting.append(delivery)
        self._found_nothing = not claimed
        self._next_claim = now + self._interval
        return len(claimed)

    _interval = 1.0
    _found_nothing = False

    def step(self) -> int:
        """Records what finished, sends what may go, claims more; how many it claimed."""
        self._finish()
        self._dispatch()
        claimed = self._claim(now=time.monotonic())
        self._dispatch()
        return claimed

    def run(self, *, stopping: threading.Event, interval: float) -> None:
        self._interval = interval
        while not stopping.is_set():
            if self.wake.is_set():
                self.wake.clear()
                # A sender finished (its queue may want more) or an event was committed.
                self._found_nothing = False
                if not self._in_flight:
                    self._next_claim = 0.0
            self.step()
            if not self._done.empty():
                continue
            self.wake.wait(self._idle_seconds())
        self.drain()

    def _idle_seconds(self) -> float:
        """Until the next claim, or until an endpoint whose slots were all held elsewhere
        may be claimed again, whichever comes first."""
        now = time.monotonic()
        until = self._next_claim
        with self._lock:
            for receiver in self._receivers.values():
                if receiver.busy_until > now:
                    until = min(until, receiver.busy_until)
        return max(0.0, until - now)

    def drain(self, timeout: float = 30.0) -> None:
        """Sends what this worker holds and records it (a clean stop, a one-off round)."""
        deadline = time.monotonic() + timeout
        while (self.held() or not self._done.empty()) and time.monotonic() < deadline:
            self._finish()
            self._dispatch()
            if self.held():
                self.wake.wait(0.05)
                self.wake.clear()
        self._finish()

    def close(self, *, database: bool = True) -> None:
        self._pool.shutdown(wait=True)
        for transport in self._transports:
            transport.close()
        # The senders' own connections (and any endpoint slots on them) end with the pool.
        for sender_connection in self._sender_connections:
            sender_connection.inc_thread_sharing()
            try:
                sender_connection.close()
            finally:
                sender_connection.dec_thread_sharing()
        if database:
            connections.close_all()


def deliver_due(*, limit: int = 20) -> int:
    """One synchronous round (tests, ``--once``): claims up to ``limit`` due deliveries,
    sends them concurrently, records them; returns how many."""
    worker = DeliveryWorker(senders=max(1, limit))
    try:
        claimed = claim_due(limit=limit)
        for delivery in claimed:
            worker._receivers.setdefault(
                delivery.endpoint_id, _Receiver(organization_id=delivery.endpoint.organization_id)
            ).waiting.append(delivery)
        worker.drain()
        return len(claimed)
    finally:
        worker.close(database=False)

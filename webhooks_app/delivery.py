"""Sending deliveries: claim due ones, send them concurrently, record outcomes in batches.

**Claims.** A worker claims due deliveries (``pending`` or ``retrying``, their time come)
by writing its claim token and ``locked_until`` (the attempt's deadline plus a margin)
in one conditional UPDATE, so two workers never hold the same delivery, and a delivery
is claimed only when a sender thread is free to send it at once: no claim waits in a
queue while its time runs out. A worker killed mid-batch leaves its claims to expire;
another (or the same, restarted) sends those deliveries again with the same
``webhook-id``. Delivery is at least once. Only the holder of a claim records its
outcome: a claim that expired and was taken by another worker is not overwritten.

**Isolation.** At most ``GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY`` (4) attempts are in flight
per endpoint across all workers (the claim skips endpoints at their cap), and one
organization takes at most half of a worker's senders when others are waiting. A slow or
failing receiver therefore holds only its own slots, and with the total deadline per
attempt (``sender``), never for longer than the deadline.

**Throughput.** ``GATEWAY_WEBHOOK_SENDERS`` (32) threads per worker, each with kept
connections per receiver (``sender.Transport``). Outcomes are written in batches: one
UPDATE statement (``executemany``) and one INSERT of the attempt log per batch, in one
transaction.

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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count
from django.utils import timezone

from gateway.version import VERSION
from webhooks_app import signing
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
__all__ = ["USER_AGENT", "DeliveryWorker", "Outcome", "claim_due", "deliver_due", "record"]


def _lock_seconds() -> float:
    return float(settings.GATEWAY_WEBHOOK_LOCK_SECONDS)


def claim_due(
    *, limit: int, org_in_flight: Counter[int] | None = None, org_share: int | None = None
) -> list[WebhookDelivery]:
    """Claims up to ``limit`` due deliveries, oldest first, at most what each endpoint's
    cap leaves (counting every worker's attempts in flight) and, with ``org_share``, at
    most that many in flight per organization in this worker (``org_in_flight``)."""
    if limit <= 0:
        return []
    now = timezone.now()
    cap = settings.GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY
    busy = dict(
        WebhookDelivery.objects.filter(locked_until__gt=now)
        .values("endpoint_id")
        .annotate(n=Count("id"))
        .values_list("endpoint_id", "n")
    )
    full = [endpoint for endpoint, n in busy.items() if n >= cap]
    candidates = (
        WebhookDelivery.objects.filter(status__in=SENDABLE, next_attempt_at__lte=now)
        .exclude(locked_until__gt=now)
        .exclude(endpoint_id__in=full)
        .order_by("next_attempt_at")
        .values_list("id", "endpoint_id", "endpoint__organization_id")[: limit * 4]
    )
    taken: Counter[str] = Counter(busy)
    orgs: Counter[int] = Counter(org_in_flight or {})
    chosen: list[str] = []
    for delivery_id, endpoint_id, organization_id in candidates:
        if taken[endpoint_id] >= cap:
            continue
        if org_share is not None and orgs[organization_id] >= org_share:
            continue
        chosen.append(delivery_id)
        taken[endpoint_id] += 1
        orgs[organization_id] += 1
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    claim = secrets.token_hex(16)
    lock = now + timedelta(seconds=_lock_seconds())
    # Conditional: a delivery another worker claimed meanwhile is not taken (on
    # PostgreSQL the second UPDATE waits for the first and re-reads the row).
    WebhookDelivery.objects.filter(id__in=chosen, status__in=SENDABLE).exclude(
        locked_until__gt=now
    ).update(locked_until=lock, claim=claim)
    return list(
        WebhookDelivery.objects.filter(id__in=chosen, claim=claim)
        .select_related("endpoint", "event")
        .order_by("next_attempt_at")
    )


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


class DeliveryWorker:
    """A worker's sender pool and its claims. ``step`` records what finished and claims
    what the free senders can send now; ``run`` repeats it until told to stop."""

    def __init__(self, *, senders: int | None = None) -> None:
        self.senders = senders or settings.GATEWAY_WEBHOOK_SENDERS
        self.org_share = max(settings.GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY, self.senders // 2)
        self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix="webhook-sender")
        self._local = threading.local()
        self._transports: list[Transport] = []
        self._done: queue.SimpleQueue[tuple[WebhookDelivery, Outcome]] = queue.SimpleQueue()
        self._in_flight = 0
        self._org_in_flight: Counter[int] = Counter()
        self.wake = threading.Event()

    def _transport(self) -> Transport:
        transport: Transport | None = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = Transport()
            self._transports.append(transport)
        return transport

    def _send(self, delivery: WebhookDelivery) -> None:
        try:
            outcome = send(delivery, self._transport())
        except Exception as exc:  # a bug must not lose the claim's outcome
            logger.exception("delivery %s: sending failed", delivery.id)
            outcome = Outcome(False, None, f"internal error: {exc.__class__.__name__}")
        if not outcome.ok:
            logger.info("delivery %s: %s", delivery.id, outcome.error)
        self._done.put((delivery, outcome))
        self.wake.set()

    def in_flight(self) -> int:
        return self._in_flight

    def step(self) -> int:
        """Records what finished, claims what can be sent now; how many it started."""
        finished = []
        while True:
            try:
                finished.append(self._done.get_nowait())
            except queue.Empty:
                break
        if finished:
            record(finished)
            for delivery, _outcome in finished:
                self._in_flight -= 1
                self._org_in_flight[delivery.endpoint.organization_id] -= 1
        claimed = claim_due(
            limit=self.senders - self._in_flight,
            org_in_flight=self._org_in_flight,
            org_share=self.org_share,
        )
        for delivery in claimed:
            self._in_flight += 1
            self._org_in_flight[delivery.endpoint.organization_id] += 1
            self._pool.submit(self._send, delivery)
        return len(claimed)

    def run(self, *, stopping: threading.Event, interval: float) -> None:
        while not stopping.is_set():
            self.wake.clear()
            started = self.step()
            if not started and not self._done.qsize():
                # Idle, or every sender busy: until a sender finishes, an event is
                # committed (PostgreSQL), or the poll interval passes.
                self.wake.wait(interval if self._in_flight < self.senders else 1.0)
        self.drain()

    def drain(self, timeout: float = 30.0) -> None:
        """Waits for attempts in flight and records them (on a clean stop)."""
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            self.wake.wait(0.1)
            self.wake.clear()
            finished = []
            while True:
                try:
                    finished.append(self._done.get_nowait())
                except queue.Empty:
                    break
            if finished:
                record(finished)
                self._in_flight -= len(finished)

    def close(self, *, database: bool = True) -> None:
        self._pool.shutdown(wait=True)
        for transport in self._transports:
            transport.close()
        if database:
            connections.close_all()


def deliver_due(*, limit: int = 20) -> int:
    """One synchronous round (tests, ``--once``): claims up to ``limit`` due deliveries,
    sends them concurrently, records them; returns how many."""
    worker = DeliveryWorker(senders=max(1, limit))
    try:
        started = worker.step()
        worker.drain()
        return started
    finally:
        worker.close(database=False)

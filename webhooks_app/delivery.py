"""Sending deliveries: claim due ones, sign, POST, record the outcome.

A worker claims a batch of due deliveries by setting ``locked_until`` (on PostgreSQL
with ``SELECT … FOR UPDATE SKIP LOCKED``, so several workers never take the same one),
sends each, and records the result. A worker killed mid-delivery leaves its claims to
expire: another (or the same, restarted) sends them again with the same ``webhook-id``.
Delivery is at least once.

A claim is its ``locked_until`` value, and it is renewed for each delivery just before
that delivery is sent, so a batch of slow receivers cannot let the later ones' claims
run out unseen. A delivery whose claim another worker has taken meanwhile (it expired)
is neither sent nor recorded by this one: ``renew`` and ``record`` change a row only
while it still carries this worker's claim.

2xx within 10 s is success. Anything else is retried after about 5 s, 5 min, 30 min,
2 h, 5 h, 10 h and 10 h (with jitter), then the delivery is dead. A receiver answering
410 Gone has its endpoint disabled and the delivery dies at once.
"""

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter

from webhooks_app import signing
from webhooks_app.addresses import AddressRefused, checked_address
from webhooks_app.events import event_body
from webhooks_app.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
TIMEOUT_SECONDS = 10
READ_LIMIT_BYTES = 4096


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str


def claim_due(*, limit: int) -> list[WebhookDelivery]:
    now = timezone.now()
    lock = now + timedelta(seconds=settings.GATEWAY_WEBHOOK_LOCK_SECONDS)
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
            next_attempt_at__lte=now,
        ).exclude(locked_until__gt=now)
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
        WebhookDelivery.objects.filter(id__in=ids).update(locked_until=lock)
    return list(
        WebhookDelivery.objects.filter(id__in=ids)
        .select_related("endpoint", "event")
        .order_by("next_attempt_at", "event__created_at")  # oldest first
    )


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address while verifying TLS for the host name."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    try:
        host, address, port = checked_address(url)
    except AddressRefused as exc:
        return Outcome(False, None, f"refused address: {exc}")
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    with requests.Session() as session:
        session.mount(f"{parts.scheme}://", _PinnedAdapter(host))
        try:
            response = session.post(
                pinned,
                data=body,
                headers={**headers, "Host": parts.netloc, "Content-Type": "application/json"},
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return Outcome(False, None, f"{exc.__class__.__name__}")
        with response:
            response.raw.read(READ_LIMIT_BYTES)
            ok = 200 <= response.status_code < 300
            error = "" if ok else f"answered HTTP {response.status_code}"
            return Outcome(ok, response.status_code, error)


def send(delivery: WebhookDelivery) -> Outcome:
    endpoint = delivery.endpoint
    body = json.dumps(event_body(delivery.event), separators=(",", ":")).encode()
    now = timezone.now()
    secrets = [endpoint.secret]
    if endpoint.previous_secret and (endpoint.previous_secret_until or now) > now:
        secrets.append(endpoint.previous_secret)
    headers = signing.headers(
        secrets, msg_id=delivery.event_id, timestamp=int(time.time()), body=body
    )
    return post(endpoint.url, body, headers)


def renew(delivery: WebhookDelivery) -> bool:
    """Extends this worker's claim on ``delivery`` for one more attempt; False when the
    claim is no longer ours (it expired and another worker took it)."""
    lock = timezone.now() + timedelta(seconds=settings.GATEWAY_WEBHOOK_LOCK_SECONDS)
    held = WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=delivery.locked_until)
    if not held.update(locked_until=lock):
        return False
    delivery.locked_until = lock
    return True


def record(delivery: WebhookDelivery, outcome: Outcome) -> bool:
    """Writes the attempt's outcome, only while the claim is still ours; returns
    whether it was written."""
    attempts = delivery.attempts + 1
    updates: dict[str, object] = {
        "attempts": attempts,
        "locked_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:500],
        "updated_at": timezone.now(),
    }
    if outcome.ok:
        updates["status"] = DeliveryStatus.SUCCEEDED
    elif outcome.status_code == 410:
        updates["status"] = DeliveryStatus.DEAD
        delivery.endpoint.__class__.objects.filter(pk=delivery.endpoint_id).update(
            enabled=False, disabled_reason="the receiver answered 410 Gone"
        )
    elif attempts > len(RETRY_DELAYS):
        updates["status"] = DeliveryStatus.DEAD
    else:
        delay = RETRY_DELAYS[attempts - 1] * random.uniform(0.9, 1.1)  # noqa: S311 (jitter)
        updates["status"] = DeliveryStatus.FAILED
        updates["next_attempt_at"] = timezone.now() + timedelta(seconds=delay)
    held = WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=delivery.locked_until)
    if not held.update(**updates):
        logger.warning("delivery %s: claim lost during the attempt; not recorded", delivery.id)
        return False
    return True


def deliver_due(*, limit: int = 20) -> int:
    """One round: claims up to ``limit`` due deliveries and sends them. Returns how many."""
    claimed = claim_due(limit=limit)
    for delivery in claimed:
        if not renew(delivery):
            logger.warning("delivery %s: claim lost before sending; skipped", delivery.id)
            continue
        outcome = send(delivery)
        if not outcome.ok:
            logger.info("delivery %s: %s", delivery.id, outcome.error)
        record(delivery, outcome)
    return len(claimed)

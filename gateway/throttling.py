"""Rate limits: per principal, one budget for live actions and one for reads; and one
for unauthenticated requests (no token, or one refused) per client address.

A fixed-window counter shared by every web process: in Redis when ``REDIS_URL`` is set
(``cache.add`` + ``cache.incr``, atomic), otherwise in the database — one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per request (Django's database cache
would take a dozen queries and has no atomic increment). Over the limit the answer is
429 ``rate_limited`` with ``Retry-After``. The session runner prunes past windows.

A principal's bucket is keyed on its organization and its identifier (an API key's id, a
person's ``sub``): two organizations' people with the same ``sub`` do not share one.
"""

import contextlib
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from auth_app.principal import Principal
from gateway.models import RateCounter

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
LIVE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

logger = logging.getLogger(__name__)


def parse_rate(rate: str) -> tuple[int, int] | None:
    """``"60/minute"`` → (60, 60); ``"off"`` or ``"0"`` → None (no limit)."""
    text = rate.strip().lower()
    if text in ("", "off", "0", "none"):
        return None
    count, _, unit = text.partition("/")
    if unit not in _UNITS or not count.isdigit() or int(count) <= 0:
        raise ValueError(f"rate must look like 60/minute, got {rate!r}")
    return int(count), _UNITS[unit]


def _count_in_redis(key: str, window: int, amount: int) -> int:
    if cache.add(key, amount, timeout=window + 1):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, amount, timeout=window + 1)
        return amount


def _count_in_database(key: str, expires_at: datetime, amount: int) -> int:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, count, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + %s RETURNING count",
            [key, amount, expires_at, amount],
        )
        return int(cursor.fetchone()[0])


def count_in_window(name: str, rate: tuple[int, int], amount: int = 1) -> tuple[int, float]:
    """Counts ``amount`` (one request, or what it costs) in ``name``'s current fixed
    window; returns the count and the seconds until the window ends."""
    _allowed, window = rate
    now = time.time()
    window_start = int(now // window) * window
    key = f"rate:{name}:{window_start}"
    if settings.REDIS_URL:
        count = _count_in_redis(key, window, amount)
    else:
        expires_at = datetime.fromtimestamp(window_start + window, tz=UTC)
        count = _count_in_database(key, expires_at, amount)
    return count, window_start + window - now


def give_back(name: str, rate: tuple[int, int], amount: int) -> None:
    """Takes ``amount`` off ``name``'s current window (what a refused call was counted)."""
    window = rate[1]
    key = f"rate:{name}:{int(time.time() // window) * window}"
    if settings.REDIS_URL:
        with contextlib.suppress(ValueError):  # the window ended meanwhile
            cache.decr(key, amount)
        return
    RateCounter.objects.filter(key=key, count__gte=amount).update(count=F("count") - amount)


def prune_expired_counters() -> int:
    deleted, _ = RateCounter.objects.filter(expires_at__lt=datetime.now(tz=UTC)).delete()
    return deleted


class PrincipalRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._retry_after = 1

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return True
        scope = "live" if request.method in LIVE_METHODS else "read"
        limit = parse_rate(settings.GATEWAY_RATE_LIMITS[scope])
        if limit is None:
            return True
        # Identifiers come from the caller (a login token's ``sub`` can be any length):
        # hashed, so a bucket's key has one length whatever they are.
        who = hashlib.sha256(principal.identifier.encode()).hexdigest()[:32]
        bucket = f"{scope}:{principal.kind}:{principal.organization.pk}:{who}"
        count, remaining = count_in_window(bucket, limit)
        if count <= limit[0]:
            return True
        self._retry_after = max(1, int(remaining) + 1)
        return False

    def wait(self) -> float:
        return self._retry_after


class AnonymousThrottled(Throttled):
    """Too many unauthenticated requests from one address (logged once per window)."""


def client_address(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


class _LocalWindows:
    """Fixed-window counters in this process's memory: for unauthenticated requests when
    there is no Redis, so a flood of bad tokens costs no database write. Each web process
    counts on its own (the limit is per process then). Bounded: past ``MAX_KEYS`` distinct
    addresses in one window, the window starts over."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._counts: dict[str, int] = {}

    def count(self, key: str, window: int) -> tuple[int, float]:
        now = time.time()
        window_start = int(now // window) * window
        with self._lock:
            if window_start != self._window_start or len(self._counts) >= self.MAX_KEYS:
                self._window_start = window_start
                self._counts = {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        return count, window_start + window - now


_local_windows = _LocalWindows()


def reset_local_windows() -> None:
    global _local_windows
    _local_windows = _LocalWindows()


def count_anonymous(request: Request, refusal: str | None = None) -> None:
    """Counts an unauthenticated request (no token, or ``refusal`` says why its token was
    refused) against its address's budget, ``GATEWAY_RATE_LIMIT_ANON``; raises
    AnonymousThrottled past it. Shared by every web process through Redis when
    ``REDIS_URL`` is set; otherwise counted in this process's memory. Refusals are
    logged once per address per window (the first, and the first one over the limit),
    never once per request."""
    limit = parse_rate(settings.GATEWAY_RATE_LIMITS.get("anonymous", "off"))
    if limit is None:
        if refusal is not None:
            logger.info("refused a bearer token from %s: %s", client_address(request), refusal)
        return
    address = client_address(request)
    if settings.REDIS_URL:
        count, remaining = count_in_window(f"anon:{address}", limit)
    else:
        count, remaining = _local_windows.count(f"{limit[1]}:{address}", limit[1])
    if count == 1 and refusal is not None:
        logger.info(
            "refused a bearer token from %s: %s (further refusals from this address are "
            "not logged for %ds)",
            address,
            refusal,
            int(remaining) + 1,
        )
    if count <= limit[0]:
        return
    if count == limit[0] + 1:
        logger.warning(
            "unauthenticated requests from %s are over the limit (%d per %ds); refusing "
            "them with 429 for %ds",
            address,
            limit[0],
            limit[1],
            int(remaining) + 1,
        )
    raise AnonymousThrottled(wait=max(1, int(remaining) + 1))

"""Per-principal rate limits: one budget for live actions, one for reads.

A fixed-window counter shared by every web process: in Redis when ``REDIS_URL`` is set
(``cache.add`` + ``cache.incr``, atomic), otherwise in the database — one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per request (Django's database cache
would take a dozen queries and has no atomic increment). Over the limit the answer is
429 ``rate_limited`` with ``Retry-After``. The session runner prunes past windows.
"""

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from auth_app.models import RateCounter
from auth_app.principal import Principal

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
LIVE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def parse_rate(rate: str) -> tuple[int, int] | None:
    """``"60/minute"`` → (60, 60); ``"off"`` or ``"0"`` → None (no limit)."""
    text = rate.strip().lower()
    if text in ("", "off", "0", "none"):
        return None
    count, _, unit = text.partition("/")
    if unit not in _UNITS or not count.isdigit() or int(count) <= 0:
        raise ValueError(f"rate must look like 60/minute, got {rate!r}")
    return int(count), _UNITS[unit]


def _count_in_redis(key: str, window: int) -> int:
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, timeout=window + 1)
        return 1


def _count_in_database(key: str, expires_at: datetime) -> int:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, count, expires_at) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [key, expires_at],
        )
        return cursor.fetchone()[0]


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
        allowed, window = limit
        now = time.time()
        window_start = int(now // window) * window
        key = f"rate:{scope}:{principal.kind}:{principal.identifier}:{window_start}"
        if settings.REDIS_URL:
            count = _count_in_redis(key, window)
        else:
            expires_at = datetime.fromtimestamp(window_start + window, tz=UTC)
            count = _count_in_database(key, expires_at)
        if count <= allowed:
            return True
        self._retry_after = max(1, int(window_start + window - now) + 1)
        return False

    def wait(self) -> float:
        return self._retry_after

"""API keys this process resolved recently, so a polling client costs no key lookup.

A key is remembered for ``GATEWAY_API_KEY_MEMORY_SECONDS`` (default 1 s; 0 turns it off)
under a SHA-256 of the whole token — only after the token matched its stored hash, so a
hit means this exact token was verified. What the cache holds is the key row as it was
read; the per-request checks (revoked, expired) still run on it.

How a change reaches every web process: this process forgets everything at once when any
key or organization is saved or deleted here (or a key revoked through the service);
every other process reads the key again at most that many seconds later. So a revoked,
expired or deleted key stops working everywhere within ``GATEWAY_API_KEY_MEMORY_SECONDS``.
The memory is bounded; when full, the oldest entries go first.
"""

import hashlib
import threading
import time
from collections import OrderedDict

from django.conf import settings

from auth_app.models import ApiKey

_LIMIT = 10_000
_lock = threading.Lock()
_entries: OrderedDict[bytes, tuple[float, ApiKey]] = OrderedDict()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def recall(token: str) -> ApiKey | None:
    seconds = settings.GATEWAY_API_KEY_MEMORY_SECONDS
    if seconds <= 0:
        return None
    digest = _digest(token)
    with _lock:
        entry = _entries.get(digest)
        if entry is None:
            return None
        if time.monotonic() - entry[0] >= seconds:
            del _entries[digest]
            return None
        return entry[1]


def remember(token: str, api_key: ApiKey) -> None:
    if settings.GATEWAY_API_KEY_MEMORY_SECONDS <= 0:
        return
    digest = _digest(token)
    with _lock:
        _entries[digest] = (time.monotonic(), api_key)
        _entries.move_to_end(digest)
        while len(_entries) > _LIMIT:
            _entries.popitem(last=False)


def forget_all(**kwargs: object) -> None:
    """Also a signal receiver (keys and organizations saved or deleted)."""
    with _lock:
        _entries.clear()


def size() -> int:
    return len(_entries)

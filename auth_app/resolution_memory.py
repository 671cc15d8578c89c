"""What authentication resolved recently in this process, so a polling client costs no
lookup: API key rows (by a SHA-256 of the whole token, stored only after the token matched
its stored hash) and the organizations login JWTs name (by their external id).

Entries live ``GATEWAY_API_KEY_MEMORY_SECONDS`` (default 1 s; 0 turns the memory off).
What is held is the row as it was read; the per-request checks (revoked, expired, the
token's own claims) still run on it.

How a change reaches every web process: this process forgets everything at once when any
key or organization is saved or deleted here (signals, see ``AuthAppConfig.ready``) or a
key is revoked through the service; every other process reads the row again at most that
many seconds later. So a revoked, expired or deleted key stops working everywhere within
``GATEWAY_API_KEY_MEMORY_SECONDS``. Each memory is bounded; when full, the oldest entries
go first.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

from django.conf import settings

from auth_app.models import ApiKey, Organization

_LIMIT = 10_000
T = TypeVar("T")


class _Memory(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, name: str) -> T | None:
        seconds = settings.GATEWAY_API_KEY_MEMORY_SECONDS
        if seconds <= 0:
            return None
        digest = _digest(name)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if time.monotonic() - entry[0] >= seconds:
                del self._entries[digest]
                return None
            return entry[1]

    def remember(self, name: str, value: T) -> None:
        if settings.GATEWAY_API_KEY_MEMORY_SECONDS <= 0:
            return
        digest = _digest(name)
        with self._lock:
            self._entries[digest] = (time.monotonic(), value)
            self._entries.move_to_end(digest)
            while len(self._entries) > _LIMIT:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


api_keys: _Memory[ApiKey] = _Memory()
organizations: _Memory[Organization] = _Memory()


def forget_all(**kwargs: object) -> None:
    """Also a signal receiver (keys and organizations saved or deleted)."""
    api_keys.clear()
    organizations.clear()

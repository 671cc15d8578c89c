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
``GATEWAY_API_KEY_MEMORY_SECONDS``. Each memory is bounded; when full, the least recently
used entries go first.
"""

import hashlib
from typing import TypeVar

from django.conf import settings

from auth_app.expiring_memory import ExpiringMemory
from auth_app.models import ApiKey, Organization

_LIMIT = 10_000
T = TypeVar("T")


class _Memory(ExpiringMemory[bytes, T]):
    """Entries under a SHA-256 of their name, for the configured seconds."""

    def __init__(self) -> None:
        super().__init__(limit=_LIMIT)

    def recall(self, name: str) -> T | None:
        if settings.GATEWAY_API_KEY_MEMORY_SECONDS <= 0:
            return None
        return self.get(_digest(name))

    def remember(self, name: str, value: T) -> None:
        seconds = settings.GATEWAY_API_KEY_MEMORY_SECONDS
        if seconds > 0:
            self.put(_digest(name), value, until=self.now() + seconds)


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


api_keys: _Memory[ApiKey] = _Memory()
organizations: _Memory[Organization] = _Memory()


def forget_all(**kwargs: object) -> None:
    """Also a signal receiver (keys and organizations saved or deleted)."""
    api_keys.forget_all()
    organizations.forget_all()

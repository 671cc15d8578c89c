"""Login JWTs already verified, so one seen again skips the signature check.

A token's claims are remembered under a hash of the token (and of the rules it was checked
against), bound to the key set that verified it. An entry is used only while

- that key set is still the client's current, unexpired one: a refetch (a rotation, a
  dropped key, the cache's expiry) makes every entry of the old set unusable at once;
- the token's ``exp`` has not passed (no leeway: past ``exp`` the token goes the full way,
  where the configured leeway still applies).

The memory is bounded (least recently used entries go first), so a flood of distinct
valid tokens costs at most ``limit`` entries. Refused tokens are never remembered.
Everything after the signature — lifetime, claims, the organization — is still checked
on every request.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_LIMIT = 4096


class VerifiedTokens:
    def __init__(
        self, *, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[object, float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, digest: bytes, *, key_set: object) -> dict[str, Any] | None:
        """The claims of a token verified with ``key_set`` whose exp has not passed."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            verified_by, expires_at, claims = entry
            if verified_by is not key_set or self._clock() >= expires_at:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return claims

    def remember(self, digest: bytes, claims: dict[str, Any], *, key_set: object) -> None:
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int | float) or self._clock() >= expires_at:
            return
        with self._lock:
            self._entries[digest] = (key_set, float(expires_at), claims)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def forget_all(self) -> None:
        with self._lock:
            self._entries.clear()

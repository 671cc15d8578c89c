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

import time
from collections.abc import Callable
from typing import Any

from auth_app.expiring_memory import ExpiringMemory

DEFAULT_LIMIT = 4096


class VerifiedTokens(ExpiringMemory[bytes, tuple[object, dict[str, Any]]]):
    """Entries live until the token's ``exp``, on the wall clock ``exp`` is read on."""

    def __init__(
        self, *, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(limit=limit, clock=clock)

    def recall(self, digest: bytes, *, key_set: object) -> dict[str, Any] | None:
        """The claims of a token verified with ``key_set`` whose exp has not passed."""
        entry = self.get(digest)
        if entry is None:
            return None
        verified_by, claims = entry
        if verified_by is not key_set:
            self.discard(digest)
            return None
        return claims

    def remember(self, digest: bytes, claims: dict[str, Any], *, key_set: object) -> None:
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int | float) or self.now() >= expires_at:
            return
        self.put(digest, (key_set, claims), until=float(expires_at))

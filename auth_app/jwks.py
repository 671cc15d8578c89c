"""A JWKS client: the frontend's signing keys, cached, for verifying login JWTs.

One client per process (per configuration), safe to share between threads.

- The key set is cached for ``cache_seconds`` (default 10 minutes) or the endpoint's
  ``Cache-Control: max-age`` when it sends one.
- A token whose ``kid`` is not in the cached set triggers a refetch (a key rotation),
  but at most one per ``cooldown_seconds``; unknown kids are remembered meanwhile, so a
  flood of made-up kids costs no outbound requests.
- One fetch is in flight at a time: threads that need a refresh wait for it and use
  its result instead of fetching again.
- When the endpoint is down or answers garbage, the last good set keeps verifying for
  ``grace_seconds`` past its expiry (logged). A successful refetch replaces the set
  whole, so a kid the frontend dropped is refused at once.
- A token verified against a cached key costs no network call, and one verified before
  costs no signature check either while its key set stays current (``verified``; see
  ``auth_app.verified_tokens``).
"""

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from auth_app.jwt_defaults import DEFAULTS
from auth_app.verified_tokens import VerifiedTokens
from gateway import http

logger = logging.getLogger(__name__)

_MAX_AGE_RE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)
# Bounds on what Cache-Control may ask for: not hammered, not stale for days.
_MIN_TTL_SECONDS = 30
_MAX_TTL_SECONDS = 24 * 3600
_UNKNOWN_KIDS_REMEMBERED = 4096


class KeyNotFound(Exception):
    """No key with that kid in the (fresh) key set."""


class KeySetUnavailable(Exception):
    """The key set cannot be fetched and no usable cached copy exists."""


class KeyUnusable(Exception):
    """The key exists but cannot verify the token's algorithm."""


@dataclass
class _KeySet:
    keys: dict[str, dict[str, Any]]
    fetched_at: float
    expires_at: float
    parsed: dict[tuple[str, str], PyJWK] = field(default_factory=dict)


class JwksClient:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: int = DEFAULTS["JWKS_CACHE_SECONDS"],
        cooldown_seconds: int = DEFAULTS["JWKS_COOLDOWN_SECONDS"],
        grace_seconds: int = DEFAULTS["JWKS_GRACE_SECONDS"],
        timeout_seconds: float = DEFAULTS["JWKS_TIMEOUT_SECONDS"],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        http.check_url(url)
        self.url = url
        self.cache_seconds = cache_seconds
        self.cooldown_seconds = cooldown_seconds
        self.grace_seconds = grace_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._state_lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._key_set: _KeySet | None = None
        self._last_attempt: float | None = None
        self._attempts = 0
        self._unknown_kids: OrderedDict[str, float] = OrderedDict()
        self.verified = VerifiedTokens()

    def current_key_set(self) -> object | None:
        """The cached key set while it is unexpired (an opaque marker), else None."""
        key_set = self._key_set
        if key_set is None or self._clock() >= key_set.expires_at:
            return None
        return key_set

    def get_key(self, kid: str | None, algorithm: str) -> PyJWK:
        """The key that verifies ``algorithm`` tokens signed with ``kid``."""
        return self.key_and_set(kid, algorithm)[0]

    def key_and_set(self, kid: str | None, algorithm: str) -> tuple[PyJWK, object]:
        """The key, with the key set it came from (the marker ``current_key_set`` returns)."""
        now = self._clock()
        key_set = self._key_set
        if key_set is None or now >= key_set.expires_at:
            key_set = self._refresh(now, reason="expired" if key_set else "cold")
        jwk = self._find(key_set, kid)
        if jwk is None:
            if self._recently_unknown(kid, now) or not self._may_fetch(now):
                self._remember_unknown(kid, now)
                raise KeyNotFound(kid)
            key_set = self._refresh(now, reason="unknown kid")
            jwk = self._find(key_set, kid)
            if jwk is None:
                self._remember_unknown(kid, now)
                raise KeyNotFound(kid)
        return self._parse(key_set, kid or "", jwk, algorithm), key_set

    # -- internals -------------------------------------------------------------------

    @staticmethod
    def _find(key_set: _KeySet, kid: str | None) -> dict[str, Any] | None:
        if kid is not None:
            return key_set.keys.get(kid)
        # A token without kid is accepted only when the set has a single key.
        return next(iter(key_set.keys.values())) if len(key_set.keys) == 1 else None

    @staticmethod
    def _parse(key_set: _KeySet, kid: str, jwk: dict[str, Any], algorithm: str) -> PyJWK:
        cached = key_set.parsed.get((kid, algorithm))
        if cached is not None:
            return cached
        declared = jwk.get("alg")
        if declared is not None and declared != algorithm:
            raise KeyUnusable(f"key {kid!r} is for {declared}, token uses {algorithm}")
        try:
            parsed = PyJWK(jwk, algorithm=algorithm)
        except (PyJWTError, ValueError, TypeError) as exc:
            raise KeyUnusable(f"key {kid!r} cannot verify {algorithm}") from exc
        key_set.parsed[(kid, algorithm)] = parsed
        return parsed

    def _recently_unknown(self, kid: str | None, now: float) -> bool:
        if kid is None:
            return False
        with self._state_lock:
            seen = self._unknown_kids.get(kid)
            return seen is not None and now - seen < self.cooldown_seconds

    def _remember_unknown(self, kid: str | None, now: float) -> None:
        if kid is None:
            return
        with self._state_lock:
            self._unknown_kids[kid] = now
            self._unknown_kids.move_to_end(kid)
            while len(self._unknown_kids) > _UNKNOWN_KIDS_REMEMBERED:
                self._unknown_kids.popitem(last=False)

    def _may_fetch(self, now: float) -> bool:
        return self._last_attempt is None or now - self._last_attempt >= self.cooldown_seconds

    def _refresh(self, now: float, *, reason: str) -> _KeySet:
        """Fetches the key set once for all waiting threads; falls back to the cached set
        within its grace period."""
        attempts_seen = self._attempts
        with self._fetch_lock:
            if self._attempts != attempts_seen:
                # Another thread fetched while this one waited: use its outcome.
                return self._usable_or_raise(self._clock())
            if not self._may_fetch(now) and self._key_set is not None:
                return self._usable_or_raise(now)
            if not self._may_fetch(now):
                raise KeySetUnavailable("key set fetch failed recently; waiting to retry")
            self._last_attempt = now
            try:
                fetched = self._fetch()
            except KeySetUnavailable as exc:
                logger.warning("JWKS fetch failed (%s): %s", reason, exc)
                return self._usable_or_raise(now)
            finally:
                self._attempts += 1
            with self._state_lock:
                self._key_set = fetched
                self._unknown_kids.clear()
            return fetched

    def _usable_or_raise(self, now: float) -> _KeySet:
        key_set = self._key_set
        if key_set is None:
            raise KeySetUnavailable("no key set could be fetched")
        if now >= key_set.expires_at + self.grace_seconds:
            raise KeySetUnavailable("the cached key set is past its grace period")
        if now >= key_set.expires_at:
            logger.warning(
                "JWKS endpoint unavailable; verifying with the key set fetched %.0fs ago",
                now - key_set.fetched_at,
            )
        return key_set

    def _fetch(self) -> _KeySet:
        try:
            response = http.get_json(self.url, timeout=self.timeout_seconds)
        except http.OutboundError as exc:
            raise KeySetUnavailable(str(exc)) from exc
        keys = _signing_keys(response.body)
        if keys is None:
            raise KeySetUnavailable("response is not a JWK set")
        now = self._clock()
        ttl = _ttl(response.headers.get("Cache-Control", ""), default=self.cache_seconds)
        return _KeySet(keys=keys, fetched_at=now, expires_at=now + ttl)


def _signing_keys(body: Any) -> dict[str, dict[str, Any]] | None:
    """kid → JWK for the set's signature keys; None when the body is not a JWK set."""
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        return None
    keys: dict[str, dict[str, Any]] = {}
    for position, jwk in enumerate(body["keys"]):
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("kty") == "oct":
            continue  # encryption keys and shared secrets never verify a login
        kid = jwk.get("kid")
        keys[kid if isinstance(kid, str) else f"#{position}"] = jwk
    return keys


def _ttl(cache_control: str, *, default: int) -> int:
    match = _MAX_AGE_RE.search(cache_control)
    if match is None:
        return default
    return max(_MIN_TTL_SECONDS, min(int(match.group(1)), _MAX_TTL_SECONDS))

"""What web processes and runners say to each other (HTTP + JSON).

``POST {runner URL}/v1/sessions/{id}/{action}`` with a JSON payload, signed (below). The
answer is ``{"result": {...}}`` with 200, or the API's error envelope with its status (and
``Retry-After`` when WhatsApp rate-limits); 409 ``not_held`` when another runner holds
the session. The actions, their payloads and timeouts are the live-action registry's
rows (``sessions_app.registry``). Runners may be on other machines: bind them to a private
interface, since the signature authenticates calls but does not encrypt them.
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings

from groups_app.rules import PICTURE_MAX_BYTES
from messages_app.rules import largest_media

# The largest call carries a group picture or a message's media: the API's limit for
# it, base64, in JSON. The web side sends nothing larger; the runner reads nothing larger.
MAX_BODY = (max(PICTURE_MAX_BYTES, largest_media()) + 2) // 3 * 4 + 64 * 1024
# The runner's own refusals of a call's framing (not of what the caller asked): the web
# side answers its caller 500 internal_error for these, never a validation error.
BAD_RUNNER_REQUEST = "bad_runner_request"


def runner_secret() -> str:
    """The shared secret: GATEWAY_RUNNER_SECRET, or one derived from SECRET_KEY so web and
    runner configured alike agree without extra settings."""
    if settings.GATEWAY_RUNNER_SECRET:
        return settings.GATEWAY_RUNNER_SECRET
    return hmac.new(
        settings.SECRET_KEY.encode(), b"whatsapp-gateway runner secret v1", hashlib.sha256
    ).hexdigest()


# Every call is signed: HMAC-SHA256 over the timestamp, a nonce, the method, the path and
# the body's SHA-256, with the shared secret. A runner accepts a signature only within
# WINDOW_SECONDS of its own clock and only once (it remembers nonces that long), so a
# recorded call cannot be replayed, and a call cannot be altered in flight. The body's
# SHA-256 travels in a header too, so a runner checks the signature on the request head
# alone and reads no body from a caller without the secret; the body read afterwards
# must match it.
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
NONCE_HEADER = "X-Gateway-Nonce"
SIGNATURE_HEADER = "X-Gateway-Signature"
DIGEST_HEADER = "X-Gateway-Content-SHA256"
_HEX64 = re.compile(r"[0-9a-f]{64}")
WINDOW_SECONDS = 30
# Why a runner refused a call, in the 401 answer's details.reason. A replay of a call it
# has already taken tells the web process that its first attempt arrived.
REPLAYED = "replayed"

# Web processes keep connections to runners open between calls (HTTP/1.1 keep-alive). A
# runner closes one idle for RUNNER_IDLE_SECONDS; a web process stops using one idle for
# CLIENT_IDLE_SECONDS, well before, so it never sends on a connection being closed for
# idleness.
RUNNER_IDLE_SECONDS = 60
CLIENT_IDLE_SECONDS = 20


def _signature(method: str, path: str, digest: str, *, timestamp: str, nonce: str) -> str:
    message = f"{timestamp}\n{nonce}\n{method.upper()}\n{path}\n{digest}".encode()
    return hmac.new(runner_secret().encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    method: str, path: str, body: bytes, *, at: float | None = None
) -> dict[str, str]:
    """The signature headers for a call made now (or at ``at``, seconds since the epoch)."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = secrets.token_hex(16)
    digest = hashlib.sha256(body).hexdigest()
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        DIGEST_HEADER: digest,
        SIGNATURE_HEADER: _signature(method, path, digest, timestamp=timestamp, nonce=nonce),
    }


class ReplayGuard:
    """A runner's check of incoming calls: a valid signature, a fresh timestamp, and a
    nonce it has not seen. A nonce is remembered for twice the window after it arrived
    (a replay after that is refused as stale), in arrival order, so forgetting the
    expired ones costs only what expires: checking a call is O(1) whatever the rate."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock

    def refusal(
        self, headers: Any, method: str, path: str, body: bytes | None = None
    ) -> str | None:
        """Why the call is refused (``unsigned``, ``stale``, ``bad_signature`` or
        ``REPLAYED``), or None when it is accepted. ``headers``: a mapping with ``get``
        (an HTTP message's headers). Without ``body``, the head alone is checked (the
        body must then pass ``body_refusal``); a refused call never uses up its nonce."""
        timestamp = headers.get(TIMESTAMP_HEADER) or ""
        nonce = headers.get(NONCE_HEADER) or ""
        signature = headers.get(SIGNATURE_HEADER) or ""
        digest = headers.get(DIGEST_HEADER) or ""
        if (
            not timestamp.isdigit()
            or len(timestamp) > 12
            or not 16 <= len(nonce) <= 64
            or not signature
            or not _HEX64.fullmatch(digest)
        ):
            return "unsigned"
        now = self._clock()
        if abs(now - int(timestamp)) > WINDOW_SECONDS:
            return "stale"
        expected = _signature(method, path, digest, timestamp=timestamp, nonce=nonce)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return "bad_signature"
        if body is not None and body_refusal(headers, body) is not None:
            return "bad_signature"
        with self._lock:
            cutoff = now - 2 * WINDOW_SECONDS
            while self._seen and next(iter(self._seen.values())) <= cutoff:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return REPLAYED
            self._seen[nonce] = now
        return None

    def remembered(self) -> int:
        """How many nonces are remembered now."""
        return len(self._seen)


def body_refusal(headers: Any, body: bytes) -> str | None:
    """``bad_signature`` unless ``body`` is the one the (accepted) head was signed for."""
    digest = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(digest.encode(), (headers.get(DIGEST_HEADER) or "").encode()):
        return "bad_signature"
    return None

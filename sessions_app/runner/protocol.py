"""What the web process and the runner say to each other (HTTP + JSON on loopback).

``POST {GATEWAY_RUNNER_URL}/v1/sessions/{id}/{action}`` with a JSON payload and
``Authorization: Bearer <runner secret>``. The answer is ``{"result": {...}}`` with 200,
or the API's error envelope with its status (and ``Retry-After`` when WhatsApp
rate-limits).
"""

import hashlib
import hmac

from django.conf import settings

ACTIONS = (
    "connect",
    "create_group",
    "find_created_group",
    "sync_groups",
    "pair_code",
    "logout",
    "release",
)

# How long the web process waits for each action. WhatsApp's own queries time out at
# 75 s, so actions that query it get a little more than that.
TIMEOUTS: dict[str, float] = {
    "connect": 10,
    "create_group": 90,
    "find_created_group": 90,
    "sync_groups": 90,
    "pair_code": 30,
    "logout": 30,
    "release": 20,
}


def runner_secret() -> str:
    """The shared secret: GATEWAY_RUNNER_SECRET, or one derived from SECRET_KEY so web and
    runner configured alike agree without extra settings."""
    if settings.GATEWAY_RUNNER_SECRET:
        return settings.GATEWAY_RUNNER_SECRET
    return hmac.new(
        settings.SECRET_KEY.encode(), b"whatsapp-gateway runner secret v1", hashlib.sha256
    ).hexdigest()


def authorised(header: str | None) -> bool:
    expected = f"Bearer {runner_secret()}"
    return header is not None and hmac.compare_digest(header.encode(), expected.encode())

"""What the web process and the runner say to each other (HTTP + JSON on loopback).

``POST {GATEWAY_RUNNER_URL}/v1/sessions/{id}/{action}`` with a JSON payload and
``Authorization: Bearer <runner secret>``. The answer is ``{"result": {...}}`` with 200,
or the API's error envelope with its status (and ``Retry-After`` when WhatsApp
rate-limits). The actions, their payloads and timeouts are the live-action registry's
rows (``sessions_app.actions``).
"""

import hashlib
import hmac

from django.conf import settings


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

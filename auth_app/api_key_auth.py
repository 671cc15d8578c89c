"""Resolves an API key to a principal (the key row remembered for a second; see
``auth_app.resolution_memory`` for how revocation still reaches every process within it)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from auth_app import keys, resolution_memory
from auth_app.exceptions import InvalidToken
from auth_app.models import ApiKey
from auth_app.principal import Principal, TokenKind


def recognises(token: str) -> bool:
    return keys.looks_like_key(token)


def resolve(token: str) -> Principal:
    parsed = keys.parse(token)
    if parsed is None:
        # Wrong shape or checksum: rejected without a database query.
        raise InvalidToken("invalid API key")
    api_key = resolution_memory.api_keys.recall(parsed.token)
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("organization").filter(lookup_id=parsed.lookup_id).first()
        )
        if api_key is None or not keys.matches(parsed.token, api_key.secret_hash):
            raise InvalidToken("invalid API key")
        resolution_memory.api_keys.remember(parsed.token, api_key)
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise InvalidToken("API key has been revoked")
    if api_key.is_expired(now):
        raise InvalidToken("API key has expired")
    _touch(api_key, now)
    return Principal(
        organization=api_key.organization,
        capabilities=api_key.capabilities,
        kind=TokenKind.API_KEY,
        identifier=str(api_key.pk),
    )


def _touch(api_key: ApiKey, now: datetime) -> None:
    """Records use at most once per interval, so reads do not turn into writes.

    The conditional UPDATE makes concurrent requests write at most once between them.
    """
    interval = timedelta(seconds=settings.GATEWAY_API_KEY_LAST_USED_INTERVAL)
    if api_key.last_used_at is not None and now - api_key.last_used_at < interval:
        return
    stale = ApiKey.objects.filter(pk=api_key.pk)
    if api_key.last_used_at is not None:
        stale = stale.filter(last_used_at__lte=now - interval)
    else:
        stale = stale.filter(last_used_at__isnull=True)
    stale.update(last_used_at=now)
    api_key.last_used_at = now  # the remembered row too: no further write this interval

"""How long messages are kept: ``GATEWAY_MESSAGE_RETENTION_DAYS`` (default 30; 0: for
ever), counted from when the gateway stored them.

The session runner's loop (the periodic work every deployment runs) deletes a batch of
the oldest a minute, by primary key, so no delete holds long locks; a backlog (after
lowering the setting) drains at ``BATCH`` a minute per runner. Their webhook events are
webhook history, kept by its own retention (``webhooks_app.retention``).
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messages_app.models import Message

BATCH = 1000


def prune_messages(*, batch: int = BATCH) -> int:
    """Deletes up to ``batch`` messages older than the retention; how many."""
    days = settings.GATEWAY_MESSAGE_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    ids = list(
        Message.objects.filter(created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:batch]
    )
    if ids:
        Message.objects.filter(id__in=ids).delete()
    return len(ids)

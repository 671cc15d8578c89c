"""How long webhook history is kept: ``GATEWAY_WEBHOOK_RETENTION_DAYS`` (default 30).

Events older than that go, with their deliveries and attempt logs, once none of their
deliveries is still to be sent (``pending`` or ``retrying``: those run out of retries
within about 28 hours anyway). A delivery ``paused`` by a disabled endpoint waits for
it that long too, then goes with its event. The session runner's loop (the periodic
work every deployment runs) prunes a batch a minute, so no delete holds long locks.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from webhooks_app.models import SENDABLE, WebhookEvent

BATCH = 1000


def prune_history(*, batch: int = BATCH) -> int:
    """Deletes up to ``batch`` expired events (with what hangs off them); how many."""
    days = settings.GATEWAY_WEBHOOK_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    expired = (
        WebhookEvent.objects.filter(created_at__lt=cutoff)
        .exclude(deliveries__status__in=SENDABLE)
        .order_by("created_at")
        .values_list("id", flat=True)[:batch]
    )
    ids = list(expired)
    if ids:
        WebhookEvent.objects.filter(id__in=ids).delete()
    return len(ids)

"""What the admin index shows: the state of every number and tenant at a glance."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from auth_app.models import ApiKey, Organization
from groups_app.models import Group
from sessions_app.models import Runner, SessionStatus, WhatsAppSession
from sessions_app.status import TERMINAL_STATUSES

NOT_CONNECTED = [
    SessionStatus.DISCONNECTED,
    SessionStatus.LOGGED_OUT,
    SessionStatus.BANNED,
    SessionStatus.FAILED,
]


def _count(queryset: Any) -> Any:
    return Coalesce(Subquery(queryset.values("n")[:1], output_field=IntegerField()), Value(0))


def organizations_with_counts() -> QuerySet[Organization]:
    sessions = (
        WhatsAppSession.objects.filter(organization=OuterRef("pk"))
        .order_by()
        .values("organization")
        .annotate(n=Count("id"))
    )
    groups = (
        Group.objects.filter(session__organization=OuterRef("pk"))
        .order_by()
        .values("session__organization")
        .annotate(n=Count("id"))
    )
    keys = (
        ApiKey.objects.filter(organization=OuterRef("pk"), revoked_at__isnull=True)
        .order_by()
        .values("organization")
        .annotate(n=Count("id"))
    )
    return Organization.objects.annotate(
        session_count=_count(sessions), group_count=_count(groups), key_count=_count(keys)
    )


# The permission each block of the dashboard needs: a block shows what its model's
# admin pages would (staff without the permission see neither).
SESSIONS_PERMISSION = "sessions_app.view_whatsappsession"
RUNNERS_PERMISSION = "sessions_app.view_runner"
ORGANIZATIONS_PERMISSION = "auth_app.view_organization"
WEBHOOKS_PERMISSION = "webhooks_app.view_webhookdelivery"


def dashboard_context(user: Any) -> dict[str, Any]:
    """What the operator console's first page shows ``user``: each block only with the
    view permission of what it lists."""
    dashboard: dict[str, Any] = {
        "sessions": user.has_perm(SESSIONS_PERMISSION),
        "runners_shown": user.has_perm(RUNNERS_PERMISSION),
        "organizations_shown": user.has_perm(ORGANIZATIONS_PERMISSION),
        "webhooks_shown": user.has_perm(WEBHOOKS_PERMISSION),
    }
    if dashboard["webhooks_shown"]:
        dashboard["webhooks"] = _webhook_health()
    if dashboard["sessions"]:
        dashboard.update(_sessions_blocks())
    if dashboard["runners_shown"]:
        lease_seconds = settings.GATEWAY_RUNNER_LEASE_SECONDS
        dashboard["runners"] = list(Runner.objects.order_by("id")[:50])
        dashboard["runner_fresh_after"] = timezone.now() - timedelta(seconds=lease_seconds)
    if dashboard["organizations_shown"]:
        dashboard["organizations"] = list(organizations_with_counts().order_by("slug")[:50])
    return {"dashboard": dashboard}


def _webhook_health() -> list[dict[str, Any]]:
    """Webhook tiles: what needs a look (dead, retrying and paused deliveries, disabled
    endpoints), each a link to that list. Two queries."""
    from webhooks_app.models import WebhookDelivery, WebhookEndpoint

    shown = ("dead", "retrying", "paused")
    counts = dict(
        WebhookDelivery.objects.filter(status__in=shown)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    tiles = [
        {
            "key": status,
            "label": f"{status} deliveries",
            "count": counts.get(status, 0),
            "url": "admin:webhooks_app_webhookdelivery_changelist",
            "query": f"?status__exact={status}",
        }
        for status in shown
    ]
    tiles.append(
        {
            "key": "disabled",
            "label": "disabled endpoints",
            "count": WebhookEndpoint.objects.filter(enabled=False).count(),
            "url": "admin:webhooks_app_webhookendpoint_changelist",
            "query": "?enabled__exact=0",
        }
    )
    return tiles


def _sessions_blocks() -> dict[str, Any]:
    counts = dict(WhatsAppSession.objects.order_by().values_list("status").annotate(n=Count("id")))
    by_status = [
        {"status": status, "label": label, "count": counts.get(status, 0)}
        for status, label in SessionStatus.choices()
    ]
    troubled = (
        WhatsAppSession.objects.filter(status__in=NOT_CONNECTED)
        .select_related("organization")
        .order_by("-updated_at")[:10]
    )
    # Stopped for a reason only a person can fix (logged out, banned, locked, outdated):
    # the runner will not retry these.
    needs_attention = (
        WhatsAppSession.objects.filter(status__in=TERMINAL_STATUSES, desired_connected=False)
        .select_related("organization")
        .order_by("-updated_at")[:10]
    )
    return {
        "by_status": by_status,
        "total": sum(counts.values()),
        "connected": counts.get(SessionStatus.CONNECTED, 0),
        "troubled": list(troubled),
        "needs_attention": list(needs_attention),
        "wanted_but_down": WhatsAppSession.objects.filter(
            Q(desired_connected=True) & ~Q(status=SessionStatus.CONNECTED)
        ).count(),
    }

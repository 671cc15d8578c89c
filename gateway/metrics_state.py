"""What the database says, as Prometheus metrics read at scrape time: sessions by status
(and those that want a connection but have none), leases and heartbeats per runner,
webhook deliveries still to settle by status, the oldest one's age, and send budget used.
Each is one aggregate query on an indexed column; a database that does not answer gives
``gateway_state_up 0`` instead of failing the scrape."""

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sessions_app.models import Runner, SendBudgetUse, SessionLease, SessionStatus, WhatsAppSession
from webhooks_app.models import DeliveryStatus, WebhookDelivery

# Deliveries counted by status: the ones not settled for good (succeeded rows are the
# bulk of the table and are counted by the delivery worker's attempts instead).
_COUNTED = (
    DeliveryStatus.PENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.PAUSED,
    DeliveryStatus.DEAD,
)


class StateCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "gateway_state_up", "1 when the database answered the state queries below."
        )
        try:
            families = list(self._families())
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        sessions = GaugeMetricFamily(
            "gateway_sessions", "Sessions by status and engine.", labels=["status", "engine"]
        )
        counted = {
            (row["status"], row["engine"]): row["n"]
            for row in WhatsAppSession.objects.values("status", "engine").annotate(n=Count("id"))
        }
        for status in SessionStatus.values():
            for engine in ("whatsapp", "sandbox"):
                sessions.add_metric([status, engine], counted.get((status, engine), 0))
        yield sessions

        wanting = GaugeMetricFamily(
            "gateway_sessions_wanting_connection",
            "Sessions that should be connected but are not (desired, and not connected).",
        )
        wanting.add_metric(
            [],
            WhatsAppSession.objects.filter(desired_connected=True)
            .exclude(status=SessionStatus.CONNECTED)
            .count(),
        )
        yield wanting

        leases = GaugeMetricFamily(
            "gateway_runner_leases",
            "Session leases held (not expired), by runner.",
            labels=["runner"],
        )
        held = dict(
            SessionLease.objects.filter(expires_at__gt=now)
            .values_list("runner_id")
            .annotate(n=Count("session_id"))
            .values_list("runner_id", "n")
        )
        heartbeat = GaugeMetricFamily(
            "gateway_runner_heartbeat_age_seconds",
            "Seconds since each known runner last renewed its leases (its heartbeat).",
            labels=["runner"],
        )
        for runner_id, beat in Runner.objects.values_list("id", "heartbeat_at"):
            heartbeat.add_metric([runner_id], (now - beat).total_seconds())
            held.setdefault(runner_id, 0)
        for runner_id, count in sorted(held.items()):
            leases.add_metric([runner_id], count)
        newest = GaugeMetricFamily(
            "gateway_runner_newest_heartbeat_age_seconds",
            "Seconds since the most recent heartbeat of any runner (no runner: -1).",
        )
        beats = [beat for _, beat in Runner.objects.values_list("id", "heartbeat_at")]
        newest.add_metric([], (now - max(beats)).total_seconds() if beats else -1)
        yield leases
        yield heartbeat
        yield newest

        deliveries = GaugeMetricFamily(
            "gateway_webhook_deliveries",
            "Webhook deliveries not yet succeeded, by status.",
            labels=["status"],
        )
        by_status = dict(
            WebhookDelivery.objects.filter(status__in=_COUNTED)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in _COUNTED:
            deliveries.add_metric([str(status)], by_status.get(status, 0))
        yield deliveries
        oldest = GaugeMetricFamily(
            "gateway_webhook_oldest_pending_age_seconds",
            "Age of the oldest delivery still to be sent (pending or retrying; 0: none).",
        )
        first = WebhookDelivery.objects.filter(
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
        ).aggregate(first=Min("created_at"))["first"]
        oldest.add_metric([], (now - first).total_seconds() if first else 0)
        yield oldest

        budget = GaugeMetricFamily(
            "gateway_send_budget_used",
            "Send budget used in the current UTC window, all sessions together.",
            labels=["window"],
        )
        minute = now.replace(second=0, microsecond=0)
        day = minute.replace(hour=0, minute=0)
        for window, starts_at in (("minute", minute), ("day", day)):
            used = SendBudgetUse.objects.filter(span=window, starts_at=starts_at).aggregate(
                used=Sum("used")
            )["used"]
            budget.add_metric([window], used or 0)
        yield budget

"""Webhook endpoints, the events recorded for them (the outbox) and their deliveries."""

from django.db import models
from ulid import ULID

from auth_app.models import Organization


def new_endpoint_id() -> str:
    return f"whk_{ULID()}"


def new_event_id() -> str:
    return f"evt_{ULID()}"


def new_delivery_id() -> str:
    return f"dlv_{ULID()}"


class WebhookEndpoint(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    # Event types, or ["*"] for all.
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    # Why it was disabled by the gateway (a receiver answering 410 Gone), if it was.
    disabled_reason = models.CharField(max_length=300, blank=True)
    # whsec_<base64>: needed in clear to sign; shown to the caller once.
    secret = models.CharField(max_length=100)
    # After a rotation the previous secret keeps signing until this time.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({self.organization.name or self.organization.slug})"

    def wants(self, event_type: str) -> bool:
        return self.enabled and ("*" in self.events or event_type in self.events)


class WebhookEvent(models.Model):
    """What happened, recorded in the same transaction as the change it reports."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    session_id = models.CharField(max_length=26, null=True, blank=True)  # noqa: DJ001
    sequence = models.PositiveBigIntegerField(default=0)
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="event_org_recent"),
            models.Index(fields=["created_at"], name="event_age"),  # retention
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class EventSequence(models.Model):
    """The last sequence number given to a session's events."""

    session_id = models.CharField(primary_key=True, max_length=26)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.session_id}: {self.last}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RETRYING = "retrying", "retrying (an attempt failed; the next is scheduled)"
    SUCCEEDED = "succeeded", "succeeded"
    DEAD = "dead", "dead (no more retries)"
    PAUSED = "paused", "paused (its endpoint is disabled)"


# Deliveries a worker may send (when due); a paused one waits for its endpoint.
SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


# As the OpenAPI schema names them (DeliveryStatus).
DELIVERY_STATUSES = DeliveryStatus.values


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted until it succeeds or runs out of retries."""

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # A worker holds a delivery it is sending until this time; past it, another may.
    # ``claim`` names that worker's claim: only the holder of the claim records.
    locked_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            # The deliveries being sent, per endpoint (each endpoint's attempts in flight).
            models.Index(fields=["locked_until", "endpoint"], name="delivery_in_flight"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One attempt at a delivery: when, how long, what the receiver answered."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The first 1 KiB of the receiver's answer, as text.
    response_body = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["started_at"]
        indexes = [models.Index(fields=["delivery", "started_at"], name="attempt_of_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.started_at:%H:%M:%S}: {self.status_code or self.error}"

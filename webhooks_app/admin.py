"""Webhook endpoints, deliveries and dead letters in the operator console."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks_app.models import WebhookDelivery, WebhookEndpoint
from webhooks_app.services import delivery_retry


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["url", "organization", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled", "organization"]
    search_fields = ["url", "id"]
    # The secret is never shown here: it was shown once, to whoever made the endpoint.
    fields = ("id", "organization", "url", "events", "description", "enabled", "disabled_reason")
    readonly_fields = ("id", "organization", "disabled_reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made through the API, which shows the secret once


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """Every delivery; filter by status "dead" for the dead letters."""

    list_display = ["id", "event_type", "endpoint", "status", "attempts", "last_status_code"]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["id", "event__id"]
    fields = (
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
    )
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Send the selected deliveries again now")
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            delivery_retry(delivery=delivery)
        self.message_user(request, f"{queryset.count()} queued again.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

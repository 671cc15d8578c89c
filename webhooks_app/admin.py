"""Webhook endpoints, deliveries and dead letters in the operator console."""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from gateway.exceptions import InvalidInput
from webhooks_app.models import WebhookDelivery, WebhookEndpoint
from webhooks_app.services import checked_events, checked_url, delivery_retry

T = TypeVar("T")


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    """The API's rules for a URL and its events, the same functions (``services``)."""

    # Text, checked by the API's rule alone (not also by Django's URL validator).
    url = forms.CharField(max_length=2000)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "enabled")

    def clean_url(self) -> str:
        return _by_the_rule(checked_url, self.cleaned_data.get("url"), "url")

    def clean_events(self) -> list[str]:
        return _by_the_rule(checked_events, self.cleaned_data.get("events"), "events")


def _by_the_rule(rule: Callable[[Any], T], value: object, field: str) -> T:
    try:
        return rule(value)
    except InvalidInput as exc:
        raise ValidationError(exc.details.get(field) or exc.message) from exc


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
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

"""Webhook endpoints, deliveries and dead letters in the operator console."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html

from gateway.admin_helpers import truncated
from gateway.exceptions import Conflict, InvalidInput
from webhooks_app.events import EVENT_TYPES, event_body
from webhooks_app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks_app.services import (
    checked_events,
    checked_url,
    delivery_retry,
    endpoint_set_enabled,
)

T = TypeVar("T")


class EventsChecklist(forms.MultipleChoiceField):
    """The known event types as checkboxes ("*": every type, also those added later)."""

    def __init__(self, **kwargs: Any) -> None:
        choices = [("*", "every event (*)"), *((name, name) for name in EVENT_TYPES)]
        super().__init__(choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs)


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    """The API's rules for a URL and its events, the same functions (``services``)."""

    # Text, checked by the API's rule alone (not also by Django's URL validator).
    url = forms.CharField(max_length=2000)
    events = EventsChecklist()

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "enabled")

    def clean_url(self) -> str:
        return _by_the_rule(checked_url, self.cleaned_data.get("url"), "url")

    def clean_events(self) -> list[str]:
        return _by_the_rule(checked_events, self.cleaned_data.get("events"), "events")


def _short_time(moment: datetime | None) -> str:
    """A list's time, compact: today's as a time, older as a date; the whole on hover."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    shown = f"{local:%H:%M:%S}" if local.date() == timezone.localdate() else f"{local:%b %d}"
    return format_html('<span title="{}">{}</span>', local.isoformat(), shown)


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
    list_select_related = ["organization"]
    search_fields = ["url", "id"]
    # The secret is never shown here: it was shown once, to whoever made the endpoint.
    fields = ("id", "organization", "url", "events", "description", "enabled", "disabled_reason")
    readonly_fields = ("id", "organization", "disabled_reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made through the API, which shows the secret once

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm[Any], change: bool
    ) -> None:
        enabled = obj.enabled
        if "enabled" in form.changed_data:
            obj.enabled = not enabled  # as stored; the service pauses or resumes
        super().save_model(request, obj, form, change)
        if "enabled" in form.changed_data:
            endpoint_set_enabled(endpoint=obj, enabled=enabled)


class AttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    fields = ("started_at", "duration_ms", "status_code", "error", "response_body")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "attempts"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """Every delivery; filter by status "dead" for the dead letters, "paused" for those
    waiting for a disabled endpoint. A delivery's page shows each attempt and the body
    sent, with a button that sends it again now."""

    change_form_template = "admin/webhooks_app/webhookdelivery/change_form.html"
    # Narrow columns first: at 1400 px all of them fit (the endpoint is its URL only).
    # The id is searched for, not read: the event type links to the delivery.
    list_display = [
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "created",
        "next_attempt",
        "organization",
        "endpoint_url",
    ]
    list_display_links = ["event_type"]
    list_filter = ["status", "endpoint__organization"]
    list_select_related = ["event", "endpoint", "endpoint__organization"]
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
        "body_sent",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["retry"]

    @admin.display(description="organization", ordering="endpoint__organization__slug")
    def organization(self, delivery: WebhookDelivery) -> str:
        return truncated(delivery.endpoint.organization.slug, 16)

    @admin.display(description="endpoint")
    def endpoint_url(self, delivery: WebhookDelivery) -> str:
        # Its host (the whole URL on hover): the column stays narrow.
        url = delivery.endpoint.url
        host = url.split("://", 1)[-1].split("/", 1)[0]
        return format_html('<span title="{}">{}</span>', url, truncated(host, 14))

    @admin.display(description="created at", ordering="created_at")
    def created(self, delivery: WebhookDelivery) -> str:
        return _short_time(delivery.created_at)

    @admin.display(description="next attempt at", ordering="next_attempt_at")
    def next_attempt(self, delivery: WebhookDelivery) -> str:
        return _short_time(delivery.next_attempt_at)

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="body sent")
    def body_sent(self, delivery: WebhookDelivery) -> str:
        body = json.dumps(event_body(delivery.event), indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", body)

    @admin.action(description="Send the selected deliveries again now")
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent, refused = 0, 0
        for delivery in queryset.select_related("endpoint"):
            try:
                delivery_retry(delivery=delivery)
                sent += 1
            except Conflict:
                refused += 1
        self.message_user(request, f"{sent} queued again.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"{refused} not: their endpoint is disabled.", messages.WARNING
            )

    def get_urls(self) -> list[URLPattern]:
        retry = self.admin_site.admin_view(self.retry_view)
        return [
            path("<str:object_id>/retry/", retry, name="webhooks_app_webhookdelivery_retry"),
            *super().get_urls(),
        ]

    def _may_retry(self, request: HttpRequest) -> bool:
        user: Any = request.user  # the admin's views run for staff users only
        return bool(user.has_perm("webhooks_app.change_webhookdelivery"))

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST" or not self._may_retry(request):
            raise PermissionDenied
        delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=object_id).first()
        if delivery is None:
            raise Http404
        try:
            delivery_retry(delivery=delivery)
            self.message_user(request, "Queued to be sent again now.", messages.SUCCESS)
        except Conflict as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return redirect("admin:webhooks_app_webhookdelivery_change", object_id)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_retry": self._may_retry(request)}
        return super().change_view(request, object_id, form_url, context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

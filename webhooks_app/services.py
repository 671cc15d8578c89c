"""Operations on webhook endpoints and deliveries (API and admin alike)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import Conflict, InvalidInput
from webhooks_app import signing
from webhooks_app.addresses import AddressRefused, checked_address
from webhooks_app.events import EVENT_TYPES, record_event
from webhooks_app.models import SENDABLE, DeliveryStatus, WebhookDelivery, WebhookEndpoint

ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    # Only returned when it is made: shown once.
    secret: str


def checked_url(url: str) -> str:
    """``url`` if webhooks may go there (the API's and the admin's one rule)."""
    if not isinstance(url, str) or len(url) > 2000:
        raise InvalidInput(details={"url": ["an http(s) URL of at most 2000 characters"]})
    try:
        checked_address(url)
    except AddressRefused as exc:
        raise InvalidInput(details={"url": [str(exc)]}) from exc
    return url


def checked_events(events: object) -> list[str]:
    """``events`` if it is a list of known event types (or ``["*"]``), duplicates dropped
    (the API's and the admin's one rule)."""
    if not isinstance(events, list) or not all(isinstance(name, str) for name in events):
        raise InvalidInput(details={"events": ["a list of event type names"]})
    unknown = [name for name in events if name != "*" and name not in EVENT_TYPES]
    if unknown or not events:
        raise InvalidInput(details={"events": [f"known types: {', '.join(EVENT_TYPES)}, or ['*']"]})
    return list(dict.fromkeys(events))


@transaction.atomic
def endpoint_create(
    *, organization: Organization, url: str, events: list[str], description: str = ""
) -> EndpointWithSecret:
    url, events = checked_url(url), checked_events(events)
    # Counted under the organization's row lock: two racing creates cannot both pass.
    list(Organization.objects.select_for_update().filter(pk=organization.pk).values("pk"))
    most = settings.GATEWAY_WEBHOOK_MAX_ENDPOINTS
    if WebhookEndpoint.objects.filter(organization=organization).count() >= most:
        raise Conflict(
            f"this organization has {most} webhook endpoints already (the most it may have); "
            "delete one first",
            details={"reason": "too_many_endpoints", "max": most},
        )
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url=url, events=events, description=description, secret=secret
    )
    return EndpointWithSecret(endpoint, secret)


def endpoint_disable(*, endpoint_id: str, reason: str = "") -> None:
    """Disables the endpoint; its queued deliveries wait (``paused``) until it is enabled
    again."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(
            enabled=False, disabled_reason=reason, updated_at=timezone.now()
        )
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status__in=SENDABLE).update(
            status=DeliveryStatus.PAUSED, locked_until=None
        )


def _resume(endpoint_id: str) -> None:
    """A re-enabled endpoint's paused deliveries go out now (in their order)."""
    WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PAUSED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )


def endpoint_update(*, endpoint: WebhookEndpoint, **changes: object) -> WebhookEndpoint:
    if "url" in changes:
        endpoint.url = checked_url(str(changes["url"]))
    if "events" in changes:
        endpoint.events = checked_events(list(changes["events"]))  # type: ignore[call-overload]
    if "description" in changes:
        endpoint.description = str(changes["description"])
    with transaction.atomic():
        endpoint.save()
        if "enabled" in changes:
            endpoint_set_enabled(endpoint=endpoint, enabled=bool(changes["enabled"]))
    return endpoint


@transaction.atomic
def endpoint_set_enabled(*, endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Enables (its paused deliveries go out now) or disables (its queued deliveries
    wait, ``paused``) an endpoint; the API's PATCH and the admin alike."""
    if enabled and not endpoint.enabled:
        _resume(endpoint.id)
    elif not enabled and endpoint.enabled:
        WebhookDelivery.objects.filter(endpoint=endpoint, status__in=SENDABLE).update(
            status=DeliveryStatus.PAUSED, locked_until=None
        )
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason = ""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=enabled, disabled_reason=endpoint.disabled_reason, updated_at=timezone.now()
    )


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    """A new secret; the old one keeps signing too for 24 hours, so receivers can switch."""
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = secret
    endpoint.save()
    return EndpointWithSecret(endpoint, secret)


def _refuse_disabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            "the endpoint is disabled: enable it first (PATCH enabled=true)",
            details={"reason": "endpoint_disabled"},
        )


@transaction.atomic
def endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    _refuse_disabled(endpoint)
    event = record_event(
        organization_id=endpoint.organization_id,
        event_type="webhook.test",
        data={"endpoint": endpoint.id},
        only_endpoint=endpoint,
    )
    if event is None:
        raise RuntimeError("a test event always has its endpoint")
    return event.deliveries.get()


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends it again now, whatever its state (a succeeded one too); 409 while its
    endpoint is disabled."""
    _refuse_disabled(delivery.endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    delivery.refresh_from_db()
    return delivery

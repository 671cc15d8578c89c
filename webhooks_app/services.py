"""Operations on webhook endpoints and deliveries (API and admin alike)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import InvalidInput
from webhooks_app import signing
from webhooks_app.addresses import AddressRefused, checked_address
from webhooks_app.events import EVENT_TYPES, record_event
from webhooks_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

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


def endpoint_create(
    *, organization: Organization, url: str, events: list[str], description: str = ""
) -> EndpointWithSecret:
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=checked_url(url),
        events=checked_events(events),
        description=description,
        secret=secret,
    )
    return EndpointWithSecret(endpoint, secret)


def endpoint_update(*, endpoint: WebhookEndpoint, **changes: object) -> WebhookEndpoint:
    if "url" in changes:
        endpoint.url = checked_url(str(changes["url"]))
    if "events" in changes:
        endpoint.events = checked_events(list(changes["events"]))  # type: ignore[call-overload]
    if "description" in changes:
        endpoint.description = str(changes["description"])
    if "enabled" in changes:
        endpoint.enabled = bool(changes["enabled"])
        if endpoint.enabled:
            endpoint.disabled_reason = ""
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    """A new secret; the old one keeps signing too for 24 hours, so receivers can switch."""
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = secret
    endpoint.save()
    return EndpointWithSecret(endpoint, secret)


@transaction.atomic
def endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
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
    """Sends it again now, whatever its state (a succeeded one too)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    delivery.refresh_from_db()
    return delivery

"""Recording events: the outbox. Called by services inside the transaction of the change
they report, so a change that rolls back records nothing and nothing committed is lost.
One event fans out to one delivery per matching endpoint of the organization."""

from typing import Any, Literal, TypedDict, cast, get_args

from django.db import connection, transaction
from django.utils import timezone

from webhooks_app import wakeups
from webhooks_app.models import EventSequence, WebhookDelivery, WebhookEndpoint, WebhookEvent

EventType = Literal[
    "session.status",
    "group.created",
    "group.updated",
    "group.participants",
    "group.joined",
    "group.left",
    "message.received",
    "message.updated",
    "webhook.test",
]


# The same names, for validation and the schema.
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)


def _next_sequence(session_id: str) -> int:
    table = connection.ops.quote_name(EventSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (session_id, last) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (session_id) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [session_id],
        )
        return int(cursor.fetchone()[0])


def record_event(
    *,
    organization_id: int,
    event_type: EventType,
    data: dict[str, Any],
    session_id: str | None = None,
    only_endpoint: WebhookEndpoint | None = None,
) -> WebhookEvent | None:
    """Records the event and its deliveries; None when no endpoint wants it (nothing is
    stored then: there is nobody to tell)."""
    endpoints = (
        [only_endpoint]
        if only_endpoint is not None
        else [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(
                organization_id=organization_id, enabled=True
            )
            if endpoint.wants(event_type)
        ]
    )
    if not endpoints:
        return None
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            organization_id=organization_id,
            session_id=session_id,
            sequence=_next_sequence(session_id) if session_id else 0,
            type=event_type,
            data=data,
        )
        now = timezone.now()
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
            for endpoint in endpoints
        )
        wakeups.notify()  # idle workers claim it as soon as this commits
    return event


class EventBody(TypedDict):
    """What a webhook delivery POSTs (and signs)."""

    id: str
    type: EventType
    createdAt: str
    session: str | None
    sequence: int
    data: dict[str, Any]


def event_body(event: WebhookEvent) -> EventBody:
    return {
        "id": event.id,
        "type": cast(EventType, event.type),  # written only by record_event
        "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
        "session": event.session_id,
        "sequence": event.sequence,
        "data": event.data,
    }

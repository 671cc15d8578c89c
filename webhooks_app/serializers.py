from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

from gateway.fields import BoundedListField, StrictBooleanField, StrictCharField
from webhooks_app.events import EVENT_TYPES, event_body
from webhooks_app.models import DELIVERY_STATUSES, SENDABLE, WebhookDelivery


@extend_schema_field({"type": "string", "format": "uri", "pattern": "^https?://[^\\s]+$"})
class WebhookUrlField(StrictCharField):
    pass


def _event_name(value: str) -> str:
    return "ALL" if value == "*" else value.replace(".", "_").upper()


EVENT_CHOICES = ["*", *EVENT_TYPES]
# Every accepted name, for the error that refuses another one.
UNKNOWN_EVENT: dict[str, "str | StrPromise"] = {
    "invalid_choice": f'"{{input}}" is not an event type; one of: {", ".join(EVENT_CHOICES)}'
}


@extend_schema_field(
    {
        "type": "array",
        # x-enum-varnames: "*" is ALL in generated clients (not VALUE_0).
        "items": {
            "type": "string",
            "enum": EVENT_CHOICES,
            "x-enum-varnames": [_event_name(value) for value in EVENT_CHOICES],
        },
        "minItems": 1,
        "maxItems": len(EVENT_TYPES) + 1,
    }
)
class EventTypesField(BoundedListField):
    pass


@extend_schema_serializer(component_name="WebhookCreate")
class EndpointInputSerializer(serializers.Serializer[Any]):
    url = WebhookUrlField(
        max_length=2000,
        help_text="Where to POST events: http(s), resolving to a public address.",
    )
    events = EventTypesField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES, error_messages=UNKNOWN_EVENT),
        allow_empty=False,
        max_length=len(EVENT_TYPES) + 1,
        help_text='Event types to receive, or ["*"] for all.',
    )
    description = StrictCharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="A label."
    )


@extend_schema_serializer(component_name="WebhookUpdate")
class EndpointUpdateSerializer(serializers.Serializer[Any]):
    url = WebhookUrlField(max_length=2000, required=False)
    events = EventTypesField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES, error_messages=UNKNOWN_EVENT),
        allow_empty=False,
        max_length=len(EVENT_TYPES) + 1,
        required=False,
    )
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    enabled = StrictBooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "give at least one of url, events, description, enabled"
            )
        return attrs


class EndpointSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabledReason = serializers.CharField(source="disabled_reason")
    createdAt = serializers.DateTimeField(source="created_at")


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_…: shown this once; store it now.")


class DeliverySerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    eventId = serializers.CharField(source="event_id")
    eventType = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(
        choices=DELIVERY_STATUSES,
        help_text=(
            "`pending` (not yet tried), `retrying` (an attempt failed; the next is at "
            "nextAttemptAt), `succeeded`, `dead` (no more retries), `paused` (its "
            "endpoint is disabled; it goes out when the endpoint is enabled again)."
        ),
    )
    attempts = serializers.IntegerField()
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    nextAttemptAt = serializers.SerializerMethodField(
        help_text="When the next attempt is due; null when none is scheduled."
    )
    createdAt = serializers.DateTimeField(source="created_at")

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_nextAttemptAt(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status not in SENDABLE:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class AttemptSerializer(serializers.Serializer[Any]):
    startedAt = serializers.DateTimeField(source="started_at")
    durationMs = serializers.IntegerField(source="duration_ms")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    error = serializers.CharField(help_text="Why it failed; empty when it succeeded.")
    responseBody = serializers.CharField(
        source="response_body", help_text="The first 1 KiB of the receiver's answer."
    )


class DeliveryDetailSerializer(DeliverySerializer):
    attemptLog = AttemptSerializer(source="attempt_log.all", many=True)
    body = serializers.SerializerMethodField(help_text="The event body as it is sent (signed).")

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_body(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return dict(event_body(delivery.event))

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from gateway.fields import StrictCharField
from sessions_app.jids import PHONE_RE
from sessions_app.models import Engine, SessionStatus, WhatsAppSession


@extend_schema_serializer(component_name="SessionCreate")
class SessionCreateInputSerializer(serializers.Serializer[Any]):
    name = StrictCharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="A label."
    )
    engine = serializers.ChoiceField(
        choices=Engine.choices(),
        required=False,
        default=Engine.WHATSAPP,
        help_text="`whatsapp` (a real number; the default) or `sandbox` (a simulation).",
    )


@extend_schema_serializer(component_name="PairCode")
class PairCodeInputSerializer(serializers.Serializer[Any]):
    phone = StrictCharField(
        help_text="The account's number: country code and number, digits only (no '+').",
    )

    def validate_phone(self, value: str) -> str:
        if not PHONE_RE.fullmatch(value):
            raise serializers.ValidationError(
                "digits only: country code and number, 5 to 20 digits, no '+'"
            )
        return value


class PairCodeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text="Enter it in WhatsApp: Linked devices → Link with phone number."
    )
    expiresAt = serializers.DateTimeField(
        help_text="When the pairing window closes: the code is good until then only."
    )


class QrSerializer(serializers.Serializer[Any]):
    qr = serializers.CharField(help_text="The QR payload; render it as a QR code to scan.")
    expiresAt = serializers.DateTimeField(help_text="When this code stops being valid.")


class SendBudgetInputSerializer(serializers.Serializer[Any]):
    perMinute = serializers.IntegerField(
        min_value=0, max_value=1_000_000, allow_null=True, help_text="null: unlimited."
    )
    perDay = serializers.IntegerField(
        min_value=0, max_value=100_000_000, allow_null=True, help_text="null: unlimited."
    )


@extend_schema_serializer(component_name="SessionUpdate")
class SessionUpdateInputSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200, required=False, allow_blank=True, help_text="A label.")
    sendBudget = SendBudgetInputSerializer(
        required=False,
        allow_null=True,
        help_text="The session's own send budget; null goes back to the engine's default.",
    )

    # An empty body changes nothing (and answers the session as it is).


class SendBudgetSerializer(serializers.Serializer[Any]):
    perMinute = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    perDay = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    usedMinute = serializers.IntegerField(help_text="Used in the current UTC minute.")
    usedDay = serializers.IntegerField(help_text="Used in the current UTC day.")
    isDefault = serializers.BooleanField(
        help_text="The engine's default (whatsapp: warming up for 7 days after pairing)."
    )


class SessionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The session id (a ULID).")
    name = serializers.CharField()
    engine = serializers.ChoiceField(choices=Engine.choices())
    status = serializers.ChoiceField(
        source="shown_status",
        choices=SessionStatus.choices(),
        help_text=(
            "new, pairing, connecting, connected, disconnected, logged_out, banned, failed. "
            "A session whose runner stopped renewing its lease reads disconnected until "
            "another runner has taken it over."
        ),
    )
    statusReason = serializers.CharField(source="shown_status_reason")
    jid = serializers.CharField(help_text="The account's JID once linked; empty before.")
    pushName = serializers.CharField(source="push_name")
    connectedAt = serializers.DateTimeField(source="connected_at", allow_null=True)
    lastSeenAt = serializers.DateTimeField(source="last_seen_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    sendBudget = serializers.SerializerMethodField(
        help_text=(
            "Actions that reach people (a message, a group created, a participant added) "
            "allowed per minute and per day, and what the current windows used."
        )
    )

    @extend_schema_field(SendBudgetSerializer)
    def get_sendBudget(self, session: WhatsAppSession) -> dict[str, Any]:
        from sessions_app.send_budget import use_of

        use = use_of(session)
        return {
            **use.as_details(),
            "isDefault": session.send_budget_per_minute is None
            and session.send_budget_per_day is None,
        }

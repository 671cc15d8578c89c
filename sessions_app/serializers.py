from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from gateway.fields import StrictCharField
from sessions_app.jids import PHONE_RE
from sessions_app.models import Engine, SessionStatus


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

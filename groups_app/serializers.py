from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.fields import BoundedListField, StrictCharField
from groups_app.rules import MAX_INVITED, SUBJECT_MAX_LENGTH, subject_problem
from sessions_app import jids


@extend_schema_field(
    {"type": "string", "pattern": jids.USER_JID_RE.pattern, "example": "15551234567@s.whatsapp.net"}
)
class UserJidField(StrictCharField):
    default_error_messages = {
        "invalid": "must be a string",
        "jid": "not a user JID: expected <country code and number>@s.whatsapp.net",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if not jids.is_user_jid(value):
            self.fail("jid")
        return value


class GroupCreateInputSerializer(serializers.Serializer):
    name = StrictCharField(
        max_length=SUBJECT_MAX_LENGTH,
        help_text=(
            "The group subject (display name) shown to all members. Required by the service; "
            "an empty name is rejected with validation_error. Surrounding whitespace is "
            f"trimmed; at most {SUBJECT_MAX_LENGTH} characters (WhatsApp's limit), counted in "
            "code points; no control characters, and at least one visible character."
        ),
    )
    participants = BoundedListField(
        child=UserJidField(),
        allow_empty=False,
        max_length=MAX_INVITED,
        help_text=(
            "Initial members to add, given as WhatsApp JIDs (user addresses ending in "
            "@s.whatsapp.net). The session's own number is implicitly the owner and need not "
            "be listed. Required by the service; numbers that cannot receive group invites "
            "may be silently skipped by WhatsApp. Duplicates are collapsed. At most "
            f"{MAX_INVITED} entries; an error names at most 20 bad entries by index."
        ),
    )

    def validate_name(self, value: str) -> str:
        problem = subject_problem(value)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value


class GroupInfoSerializer(serializers.Serializer):
    """A group as the API returns it (output only; keys exactly as the reference page)."""

    groupJid = serializers.CharField(source="jid", help_text="The group's JID (…@g.us).")
    subject = serializers.CharField(help_text="The group subject (display name).")
    description = serializers.CharField(help_text="The group description; empty when unset.")
    ownerJid = serializers.CharField(source="owner_jid", help_text="The group owner's JID.")
    isAnnounce = serializers.BooleanField(
        source="is_announce", help_text="Only admins can send messages."
    )
    isLocked = serializers.BooleanField(
        source="is_locked", help_text="Only admins can edit the group's info."
    )
    participants = serializers.IntegerField(
        source="participant_count",
        help_text=(
            "How many members the group has, owner included, as WhatsApp reported them: "
            "numbers WhatsApp skipped are not counted."
        ),
    )


# Each output key and the stored column it comes from, read off GroupInfoSerializer (the
# one definition of a group's info): the list endpoint builds its rows from plain values
# with these, since DRF's per-field machinery costs more than the query for a page of 50.
GROUP_INFO_SOURCES: dict[str, str] = {
    name: str(field.source) for name, field in GroupInfoSerializer().fields.items()
}


def group_info(row: dict[str, Any]) -> dict[str, Any]:
    """What GroupInfoSerializer outputs, from a row of ``GROUP_INFO_SOURCES`` values."""
    return {name: row[source] for name, source in GROUP_INFO_SOURCES.items()}


class GroupSyncSerializer(serializers.Serializer):
    synced = serializers.IntegerField(help_text="Groups WhatsApp reported (all stored).")
    removed = serializers.IntegerField(help_text="Stored groups the account is no longer in.")

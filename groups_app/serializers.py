import operator
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from gateway.exceptions import PayloadTooLarge
from gateway.fields import BoundedListField, StrictBooleanField, StrictCharField
from groups_app.rules import (
    DESCRIPTION_MAX_LENGTH,
    MAX_INVITED,
    PICTURE_MAX_BYTES,
    SUBJECT_MAX_LENGTH,
    jpeg_problem,
    subject_problem,
)
from sessions_app import jids
from sessions_app.engines.types import PARTICIPANT_ACTIONS, GroupInfo


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


@extend_schema_field(
    {"type": "string", "pattern": jids.MEMBER_JID_PATTERN, "example": "15551234567@s.whatsapp.net"}
)
class MemberJidField(UserJidField):
    """A member: by phone-number JID, or by LID (``…@lid``) when WhatsApp gave only that."""

    default_error_messages = {
        "invalid": "must be a string",
        "jid": "not a member JID: expected <number>@s.whatsapp.net or <lid>@lid",
    }

    def to_internal_value(self, data: object) -> str:
        value = StrictCharField.to_internal_value(self, data)
        if not jids.is_member_jid(value):
            self.fail("jid")
        return value


@extend_schema_serializer(component_name="GroupCreate")
class GroupCreateInputSerializer(serializers.Serializer[Any]):
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


class GroupInfoSerializer(serializers.Serializer[Any]):
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


_INFO_NAMES = tuple(GROUP_INFO_SOURCES)
_INFO_VALUES = operator.itemgetter(*GROUP_INFO_SOURCES.values())


def group_output(row: dict[str, Any]) -> dict[str, Any]:
    """What GroupInfoSerializer outputs, from a row of ``GROUP_INFO_SOURCES`` values."""
    return dict(zip(_INFO_NAMES, _INFO_VALUES(row), strict=True))


class GroupSyncSerializer(serializers.Serializer[Any]):
    synced = serializers.IntegerField(help_text="Groups WhatsApp reported (all stored).")
    removed = serializers.IntegerField(help_text="Stored groups the account is no longer in.")


@extend_schema_serializer(component_name="GroupUpdate")
class GroupUpdateInputSerializer(serializers.Serializer[Any]):
    subject = StrictCharField(
        required=False,
        max_length=SUBJECT_MAX_LENGTH,
        help_text="The new subject: the same rules as a new group's name.",
    )
    description = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text=f"At most {DESCRIPTION_MAX_LENGTH} characters; empty clears the description.",
    )
    isAnnounce = StrictBooleanField(required=False, help_text="Only admins can send messages.")
    isLocked = StrictBooleanField(
        required=False, help_text="Only admins can edit the group's info."
    )

    def validate_subject(self, value: str) -> str:
        problem = subject_problem(value)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "give at least one of subject, description, isAnnounce, isLocked"
            )
        return attrs


@extend_schema_serializer(component_name="ParticipantsChange")
class ParticipantsChangeInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(
        choices=list(PARTICIPANT_ACTIONS),
        help_text="add, remove, promote (to admin) or demote (to member).",
    )
    participants = BoundedListField(
        child=MemberJidField(),
        allow_empty=False,
        max_length=MAX_INVITED,
        help_text=(
            "User JIDs, as in createGroup: duplicates collapsed; when adding, the session's "
            "own number is dropped. A member WhatsApp lists only by LID (`…@lid`) can be "
            f"removed, promoted or demoted by it; adding takes phone numbers. At most "
            f"{MAX_INVITED}."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == "add":
            lids = [i for i, jid in enumerate(attrs["participants"]) if not jids.is_user_jid(jid)]
            if lids:
                raise serializers.ValidationError(
                    {"participants": [f"adding takes phone-number JIDs; LIDs at {lids[:20]}"]}
                )
        return attrs


class ParticipantSerializer(serializers.Serializer[Any]):
    jid = serializers.CharField(
        help_text="The member's phone-number JID when WhatsApp gave one, else its LID."
    )
    role = serializers.ChoiceField(choices=["member", "admin", "superadmin"])


class ParticipantListSerializer(serializers.Serializer[Any]):
    results = ParticipantSerializer(many=True)


class ParticipantResultSerializer(serializers.Serializer[Any]):
    jid = serializers.CharField()
    result = serializers.ChoiceField(
        choices=[
            "added",
            "removed",
            "promoted",
            "demoted",
            "needs_invite",
            "not_on_whatsapp",
            "already_member",
            "not_member",
            "failed",
        ],
        help_text=(
            "needs_invite: the person's privacy settings only allow an invite (inviteCode "
            "is the one WhatsApp issued to send them)."
        ),
    )
    errorCode = serializers.IntegerField(
        source="error_code", allow_null=True, help_text="WhatsApp's code for this person."
    )
    inviteCode = serializers.CharField(source="invite_code", allow_blank=True)
    inviteExpiresAt = serializers.DateTimeField(source="invite_expires_at", allow_null=True)


class ParticipantResultsSerializer(serializers.Serializer[Any]):
    results = ParticipantResultSerializer(many=True)


class InviteSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The invite code: stable until revoked.")
    url = serializers.CharField(help_text="https://chat.whatsapp.com/<code>")


@extend_schema_serializer(component_name="Picture")
class PictureInputSerializer(serializers.Serializer[Any]):
    image = StrictCharField(
        trim_whitespace=False,
        help_text=f"A JPEG, base64-encoded; at most {PICTURE_MAX_BYTES} bytes decoded.",
    )

    def validate_image(self, value: str) -> str:
        problem = jpeg_problem(value)
        if problem is not None and "over" in problem:
            raise PayloadTooLarge(
                f"the image is over {PICTURE_MAX_BYTES} bytes",
                details={"maxBytes": PICTURE_MAX_BYTES},
            )
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value


class PictureSerializer(serializers.Serializer[Any]):
    pictureId = serializers.CharField(help_text="WhatsApp's id of the new picture.")


class JoinRequestSerializer(serializers.Serializer[Any]):
    jid = serializers.CharField(help_text="Who asks to join.")
    requestedAt = serializers.DateTimeField(
        allow_null=True, help_text="When they asked, as WhatsApp reports it (null if not)."
    )


class PendingJoinSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=["pending_approval"],
        help_text="The group needs an admin's approval: the request is filed.",
    )
    groupJid = serializers.CharField(help_text="The group asked to join.")


class JoinRequestListSerializer(serializers.Serializer[Any]):
    results = JoinRequestSerializer(many=True)


@extend_schema_serializer(component_name="GroupJoin")
class JoinInputSerializer(serializers.Serializer[Any]):
    code = StrictCharField(
        max_length=200,
        help_text="An invite code, or a https://chat.whatsapp.com/<code> link.",
    )


def info_as_row(info: GroupInfo) -> dict[str, Any]:
    """An engine GroupInfo (not stored: an invite preview) in the stored row's names,
    for GroupInfoSerializer."""
    return {
        "jid": info.jid,
        "subject": info.subject,
        "description": info.description,
        "owner_jid": info.owner_jid,
        "is_announce": info.is_announce,
        "is_locked": info.is_locked,
        "participant_count": info.member_count,
    }

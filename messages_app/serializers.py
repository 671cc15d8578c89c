"""The messages API's bodies: what a send takes (checked field by field, by name) and
what a stored message looks like."""

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from gateway.exceptions import PayloadTooLarge
from gateway.fields import BoundedListField, StrictBooleanField, StrictCharField
from groups_app.serializers import UserJidField
from messages_app import rules
from messages_app.media_fetch import fetch_media
from sessions_app import jids
from sessions_app.engines.messages import MEDIA_KINDS, OutgoingMessage


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^(?:{jids.USER_JID_RE.pattern[1:-1]}|{jids.GROUP_JID_RE.pattern[1:-1]})$",
        "example": "120363025246125486@g.us",
    }
)
class ChatJidField(StrictCharField):
    default_error_messages = {
        "invalid": "must be a string",
        "jid": "not a chat: expected a user JID (…@s.whatsapp.net) or a group JID (…@g.us)",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if not rules.is_chat_jid(value):
            self.fail("jid")
        return value


def _message_id_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=rules.MESSAGE_ID_MAX_LENGTH, **kwargs)


class MediaInputSerializer(serializers.Serializer[Any]):
    data = StrictCharField(  # type: ignore[assignment]  # the field is named "data"
        required=False, help_text="The file, base64 (standard alphabet, padded)."
    )
    url = StrictCharField(
        required=False,
        max_length=2048,
        help_text=(
            "An https:// (or http://) URL the gateway fetches: public addresses only, "
            "redirects re-checked, the size capped while reading."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("data" in attrs) == ("url" in attrs):
            raise serializers.ValidationError("give exactly one of data and url")
        return attrs


class PollInputSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=rules.POLL_NAME_MAX_LENGTH)
    options = BoundedListField(
        child=StrictCharField(max_length=rules.POLL_OPTION_MAX_LENGTH),
        max_length=rules.POLL_OPTIONS[1],
    )
    selectableCount = serializers.IntegerField(
        min_value=1, required=False, default=1, help_text="How many options a voter may pick."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        options = attrs["options"]
        if len(options) < rules.POLL_OPTIONS[0] or len(set(options)) != len(options):
            raise serializers.ValidationError({"options": ["2 to 12 distinct options"]})
        if attrs["selectableCount"] > len(options):
            raise serializers.ValidationError(
                {"selectableCount": ["at most the number of options"]}
            )
        return attrs


class ReactionInputSerializer(serializers.Serializer[Any]):
    messageId = _message_id_field(help_text="The message reacted to, in the chat `to`.")
    emoji = StrictCharField(
        max_length=rules.EMOJI_MAX_LENGTH,
        allow_blank=True,
        trim_whitespace=False,
        help_text='The reaction; "" takes it back.',
    )


@extend_schema_serializer(component_name="MessageSend")
class MessageSendInputSerializer(serializers.Serializer[Any]):
    to = ChatJidField(help_text="A user JID or a group JID.")
    type = serializers.ChoiceField(choices=list(rules.KINDS))
    text = StrictCharField(
        required=False,
        max_length=rules.TEXT_MAX_LENGTH,
        trim_whitespace=False,
        help_text="type text: 1 to 65,536 characters.",
    )
    mentions = BoundedListField(
        child=UserJidField(),
        max_length=rules.MENTIONS_MAX,
        required=False,
        help_text="type text: user JIDs mentioned (in a group, each a stored member).",
    )
    mentionAll = StrictBooleanField(
        required=False, default=False, help_text="type text, in a group: mention every member."
    )
    media = MediaInputSerializer(required=False, help_text="image, video, audio, document.")
    mimetype = StrictCharField(required=False, max_length=255)
    caption = StrictCharField(required=False, max_length=rules.CAPTION_MAX_LENGTH)
    filename = StrictCharField(required=False, max_length=rules.FILENAME_MAX_LENGTH)
    poll = PollInputSerializer(required=False)
    reaction = ReactionInputSerializer(required=False)
    groupJid = StrictCharField(
        required=False, help_text="type group_invite: the group whose invite is sent to `to`."
    )
    replyTo = _message_id_field(
        required=False, help_text="A stored message of this chat to quote (not for reaction)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        needed = {
            "text": ("text",),
            "poll": ("poll",),
            "reaction": ("reaction",),
            "group_invite": ("groupJid",),
        }.get(kind, ("media", "mimetype") if kind in MEDIA_KINDS else ())
        missing = {name: [f"required for type {kind}"] for name in needed if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        if kind == "text" and not attrs["text"]:
            raise serializers.ValidationError({"text": ["1 to 65,536 characters"]})
        if kind != "text" and (attrs.get("mentions") or attrs.get("mentionAll")):
            raise serializers.ValidationError({"mentions": ["only with type text"]})
        if kind == "reaction" and "replyTo" in attrs:
            raise serializers.ValidationError({"replyTo": ["not with type reaction"]})
        if kind == "group_invite":
            if not jids.is_group_jid(attrs["groupJid"]):
                raise serializers.ValidationError({"groupJid": ["not a group JID (…@g.us)"]})
            if not jids.is_user_jid(attrs["to"]):
                raise serializers.ValidationError({"to": ["an invite goes to a user JID"]})
        if kind == "document" and not attrs.get("filename"):
            attrs["filename"] = "document"
        return attrs

    def outgoing(self) -> OutgoingMessage:
        """The validated body as the message to send (media fetched or decoded)."""
        data = self.validated_data
        kind = data["type"]
        poll = data.get("poll") or {}
        reaction = data.get("reaction") or {}
        return OutgoingMessage(
            to=data["to"],
            kind=kind,
            text=data.get("text", ""),
            mentions=tuple(dict.fromkeys(data.get("mentions") or [])),
            reply_to=data.get("replyTo", ""),
            media=_media_bytes(kind, data["media"]) if kind in MEDIA_KINDS else b"",
            mimetype=data.get("mimetype", ""),
            caption=data.get("caption", ""),
            filename=data.get("filename", ""),
            poll_name=poll.get("name", ""),
            poll_options=tuple(poll.get("options") or ()),
            selectable_count=poll.get("selectableCount", 1),
            reaction_to=reaction.get("messageId", ""),
            emoji=reaction.get("emoji", ""),
            group_jid=data.get("groupJid", ""),
        )


def _media_bytes(kind: str, media: dict[str, str]) -> bytes:
    limit = rules.media_limit(kind)
    if "url" in media:
        return fetch_media(media["url"], limit=limit)
    decoded = rules.decoded_base64(media["data"])
    if not decoded:
        raise serializers.ValidationError({"media": {"data": ["not base64 of a file"]}})
    if len(decoded) > limit:
        raise PayloadTooLarge(
            f"a {kind} is at most {limit} bytes", details={"maxBytes": limit, "type": kind}
        )
    return decoded


class MediaDescriptorSerializer(serializers.Serializer[Any]):
    mimetype = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    filename = serializers.CharField()
    caption = serializers.CharField()


class PollSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    options = serializers.ListField(child=serializers.CharField())
    selectableCount = serializers.IntegerField()


class ReactionSerializer(serializers.Serializer[Any]):
    messageId = serializers.CharField()
    emoji = serializers.CharField()


class GroupInviteSerializer(serializers.Serializer[Any]):
    groupJid = serializers.CharField()
    code = serializers.CharField()
    expiresAt = serializers.DateTimeField(allow_null=True)
    subject = serializers.CharField()


@extend_schema_serializer(component_name="Message")
class MessageSerializer(serializers.Serializer[Any]):
    """A stored message (output only; built by ``messages_app.output``)."""

    id = serializers.CharField(help_text="WhatsApp's message id (unique within the chat).")
    chat = serializers.CharField(help_text="The chat: a user JID or a group JID.")
    sender = serializers.CharField(help_text="The sender's phone JID (its LID when unknown).")
    senderLid = serializers.CharField(help_text="The sender's LID when known; else empty.")
    fromMe = serializers.BooleanField(help_text="Sent by this session's account.")
    type = serializers.ChoiceField(choices=[*rules.KINDS, "other"])
    timestamp = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=["sent", "received"],
        help_text="`sent` by this account (through the gateway or its phone), or `received`.",
    )
    text = serializers.CharField(help_text="text: the text; empty for other types.")
    quotedId = serializers.CharField(help_text="The id of the message it replies to, or empty.")
    mentions = serializers.ListField(child=serializers.CharField())
    media = MediaDescriptorSerializer(allow_null=True)
    poll = PollSerializer(allow_null=True)
    reaction = ReactionSerializer(allow_null=True)
    groupInvite = GroupInviteSerializer(allow_null=True)
    reactions = serializers.DictField(
        child=serializers.CharField(), help_text="Reactions to it: sender JID → emoji."
    )
    votes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="poll: each voter's options, by voter JID.",
    )
    editedAt = serializers.DateTimeField(allow_null=True)
    deletedAt = serializers.DateTimeField(allow_null=True)

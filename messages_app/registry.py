"""The message live actions: rows of the live-action registry (``sessions_app.registry``).

Registered when the app is ready, so both the web process and the runner know them. The
payload checks itself with the API's own rules (``messages_app.rules``) where it enters
the runner.
"""

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, cast

from gateway.exceptions import InvalidInput
from messages_app import rules
from sessions_app.engines.messages import MEDIA_KINDS, MediaContent, MessageInfo, OutgoingMessage
from sessions_app.jids import is_group_jid, is_user_jid
from sessions_app.registry import (
    ActionTarget,
    LiveActionSpec,
    Payload,
    Wire,
    engine_offering,
    register,
    text_field,
)


class MessageOperations(Protocol):
    """What engines offer the message actions below."""

    def send_message(self, *, message: OutgoingMessage, message_id: str) -> MessageInfo:
        """Sends ``message``, under the id ``message_id`` where the engine can choose it
        (the sandbox: a retry after an unknown outcome then sends the same message again,
        not another; the recipients' apps keep one message per id) — the whatsapp engine
        cannot (``messages_app.services.engine_chooses_message_ids``) and returns the id
        WhatsApp gave. Conflict with details.reason "not_admin" when WhatsApp refuses for
        lack of rights."""

    def message_media(
        self, *, chat: str, message_id: str, download: dict[str, str]
    ) -> MediaContent:
        """The bytes of a media message (NotFound when it has none or is unknown);
        ``download`` is what the engine stored to fetch them (``MediaInfo.download``)."""


def _engine(target: ActionTarget, method: str) -> MessageOperations:
    return cast(MessageOperations, engine_offering(target, method))


def _bad(field: str, problem: str) -> InvalidInput:
    return InvalidInput(details={field: [problem]})


def _strings(data: Wire, name: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(name, "a list of strings is required")
    return tuple(value)


def _outgoing(data: Wire) -> OutgoingMessage:
    to, kind = text_field(data, "to"), text_field(data, "kind")
    if not rules.is_chat_jid(to):
        raise _bad("to", "a user JID (…@s.whatsapp.net) or a group JID (…@g.us)")
    if kind not in rules.KINDS:
        raise _bad("kind", f"one of {', '.join(rules.KINDS)}")
    text = str(data.get("text") or "")
    if kind == "text" and not 1 <= len(text) <= rules.TEXT_MAX_LENGTH:
        raise _bad("text", f"1 to {rules.TEXT_MAX_LENGTH} characters")
    mentions = _strings(data, "mentions")
    if len(mentions) > rules.MENTIONS_MAX or not all(is_user_jid(jid) for jid in mentions):
        raise _bad("mentions", f"at most {rules.MENTIONS_MAX} user JIDs")
    media = b""
    if kind in MEDIA_KINDS:
        decoded = rules.decoded_base64(str(data.get("media") or ""))
        if not decoded:
            raise _bad("media", "base64 of the file is required")
        if len(decoded) > rules.media_limit(kind):
            raise _bad("media", f"at most {rules.media_limit(kind)} bytes")
        media = decoded
        if not text_field(data, "mimetype"):
            raise _bad("mimetype", "required")
    options = _strings(data, "poll_options")
    selectable = data.get("selectable_count", 1)
    if kind == "poll" and (
        not rules.POLL_OPTIONS[0] <= len(options) <= rules.POLL_OPTIONS[1]
        or len(set(options)) != len(options)
        or not isinstance(selectable, int)
        or not 1 <= selectable <= len(options)
    ):
        raise _bad("poll", "2 to 12 distinct options, 1 to their number selectable")
    if kind == "reaction" and not str(data.get("reaction_to") or ""):
        raise _bad("reaction_to", "the id of the message reacted to is required")
    group_jid = str(data.get("group_jid") or "")
    if kind == "group_invite" and (not is_group_jid(group_jid) or not is_user_jid(to)):
        raise _bad("group_jid", "a group JID, sent to a user JID")
    return OutgoingMessage(
        to=to,
        kind=kind,
        text=text,
        mentions=mentions,
        reply_to=str(data.get("reply_to") or ""),
        media=media,
        mimetype=str(data.get("mimetype") or ""),
        caption=str(data.get("caption") or ""),
        filename=str(data.get("filename") or ""),
        poll_name=str(data.get("poll_name") or ""),
        poll_options=options,
        selectable_count=int(selectable) if isinstance(selectable, int) else 1,
        reaction_to=str(data.get("reaction_to") or ""),
        emoji=str(data.get("emoji") or ""),
        group_jid=group_jid,
        quoted_sender=str(data.get("quoted_sender") or ""),
        quoted_text=str(data.get("quoted_text") or ""),
        group_subject=str(data.get("group_subject") or ""),
    )


@dataclass(frozen=True)
class SendMessage(Payload):
    message: OutgoingMessage
    message_id: str

    def to_wire(self) -> Wire:
        return {"message": self.message.to_dict(), "message_id": self.message_id}

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        message = data.get("message")
        if not isinstance(message, dict):
            raise _bad("message", "an object is required")
        message_id = text_field(data, "message_id")
        if not 1 <= len(message_id) <= rules.MESSAGE_ID_MAX_LENGTH:
            raise _bad("message_id", f"1 to {rules.MESSAGE_ID_MAX_LENGTH} characters")
        return cls(message=_outgoing(message), message_id=message_id)


@dataclass(frozen=True)
class MessageRef(Payload):
    chat: str
    message_id: str
    # The stored media descriptor (MediaInfo.download): where and with which keys the
    # engine that received the message fetches its bytes again.
    download: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        chat, message_id = text_field(data, "chat"), text_field(data, "message_id")
        if not rules.is_chat_jid(chat):
            raise _bad("chat", "a user or group JID")
        if not 1 <= len(message_id) <= rules.MESSAGE_ID_MAX_LENGTH:
            raise _bad("message_id", f"1 to {rules.MESSAGE_ID_MAX_LENGTH} characters")
        download = data.get("download") or {}
        if not isinstance(download, dict) or not all(
            isinstance(value, str) for value in download.values()
        ):
            raise _bad("download", "an object of strings")
        return cls(chat=chat, message_id=message_id, download=dict(download))


def _send(target: ActionTarget, payload: SendMessage) -> MessageInfo:
    return _engine(target, "send_message").send_message(
        message=payload.message, message_id=payload.message_id
    )


def _media(target: ActionTarget, payload: MessageRef) -> MediaContent:
    return _engine(target, "message_media").message_media(
        chat=payload.chat, message_id=payload.message_id, download=payload.download
    )


def _media_to_wire(content: MediaContent) -> Wire:
    return {"data": base64.b64encode(content.data).decode("ascii"), "mimetype": content.mimetype}


def _media_from_wire(data: Wire) -> MediaContent:
    return MediaContent(data=base64.b64decode(str(data["data"])), mimetype=str(data["mimetype"]))


def _message_from_wire(data: dict[str, Any]) -> MessageInfo:
    return MessageInfo.from_dict(data["message"])


SEND_MESSAGE = register(
    LiveActionSpec(
        "send_message",
        SendMessage,
        _send,
        lambda info: {"message": info.to_dict()},
        _message_from_wire,
        # Media goes up to WhatsApp's servers first.
        timeout=90,
    )
)
MESSAGE_MEDIA = register(
    LiveActionSpec(
        "message_media", MessageRef, _media, _media_to_wire, _media_from_wire, timeout=90
    )
)

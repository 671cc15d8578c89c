"""Messages as engines send and report them, independent of WhatsApp's protobufs."""

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What the API sends; what arrives may be any of these or "other" (a kind the gateway
# does not describe: stickers, contacts, locations, …).
SENT_KINDS = ("text", "image", "video", "audio", "document", "poll", "reaction", "group_invite")
MEDIA_KINDS = ("image", "video", "audio", "document")
RECEIVED_KINDS = (*SENT_KINDS, "other")
CHANGES = ("edited", "deleted", "reaction", "poll_vote")


@dataclass(frozen=True)
class MediaInfo:
    """A media message's descriptor (the bytes stay on WhatsApp's servers)."""

    mimetype: str
    size: int = 0
    filename: str = ""
    caption: str = ""
    # What fetching the bytes again takes (WhatsApp's media path and keys, base64), as
    # the engine that received it needs them; stored with the message, never shown.
    download: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mimetype": self.mimetype,
            "size": self.size,
            "filename": self.filename,
            "caption": self.caption,
            "download": dict(self.download),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MediaInfo":
        return cls(
            mimetype=str(data.get("mimetype", "")),
            size=int(data.get("size") or 0),
            filename=str(data.get("filename", "")),
            caption=str(data.get("caption", "")),
            download={str(k): str(v) for k, v in (data.get("download") or {}).items()},
        )


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send: ``kind`` says which of the fields apply (checked by the API and
    again where the payload enters the runner)."""

    to: str
    kind: str
    text: str = ""
    mentions: tuple[str, ...] = ()
    reply_to: str = ""
    media: bytes = b""
    mimetype: str = ""
    caption: str = ""
    filename: str = ""
    poll_name: str = ""
    poll_options: tuple[str, ...] = ()
    selectable_count: int = 1
    # reaction: the message reacted to (in the chat ``to``) and the emoji ("" removes it).
    reaction_to: str = ""
    emoji: str = ""
    # group_invite: the group whose invite goes to the user ``to``.
    group_jid: str = ""
    # From the store, for engines that must quote what they answer: the sender and text
    # of the message replied or reacted to, and the invited group's subject.
    quoted_sender: str = ""
    quoted_text: str = ""
    group_subject: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "kind": self.kind,
            "text": self.text,
            "mentions": list(self.mentions),
            "reply_to": self.reply_to,
            "media": base64.b64encode(self.media).decode("ascii"),
            "mimetype": self.mimetype,
            "caption": self.caption,
            "filename": self.filename,
            "poll_name": self.poll_name,
            "poll_options": list(self.poll_options),
            "selectable_count": self.selectable_count,
            "reaction_to": self.reaction_to,
            "emoji": self.emoji,
            "group_jid": self.group_jid,
            "quoted_sender": self.quoted_sender,
            "quoted_text": self.quoted_text,
            "group_subject": self.group_subject,
        }


@dataclass(frozen=True)
class MessageInfo:
    """A message as the store keeps it: sent by the account or received."""

    id: str
    chat: str
    # The sender as a phone JID where known, its LID beside it.
    sender: str
    kind: str
    timestamp: datetime
    from_me: bool = False
    sender_lid: str = ""
    text: str = ""
    quoted_id: str = ""
    mentions: tuple[str, ...] = ()
    media: MediaInfo | None = None
    # poll: {"name", "options", "selectableCount"}; reaction: {"messageId", "emoji"};
    # group_invite: {"groupJid", "code", "expiresAt"}.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat": self.chat,
            "sender": self.sender,
            "kind": self.kind,
            "timestamp": self.timestamp.isoformat(),
            "from_me": self.from_me,
            "sender_lid": self.sender_lid,
            "text": self.text,
            "quoted_id": self.quoted_id,
            "mentions": list(self.mentions),
            "media": self.media.to_dict() if self.media else None,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MessageInfo":
        media = data.get("media")
        return cls(
            id=str(data["id"]),
            chat=str(data["chat"]),
            sender=str(data.get("sender", "")),
            kind=str(data.get("kind", "other")),
            timestamp=datetime.fromisoformat(str(data["timestamp"])),
            from_me=bool(data.get("from_me")),
            sender_lid=str(data.get("sender_lid", "")),
            text=str(data.get("text", "")),
            quoted_id=str(data.get("quoted_id", "")),
            mentions=tuple(str(jid) for jid in data.get("mentions") or ()),
            media=MediaInfo.from_dict(media) if isinstance(media, dict) else None,
            extra=dict(data.get("extra") or {}),
        )


@dataclass(frozen=True)
class MessageChange:
    """Something that happened to a stored message: ``edited`` (``text``), ``deleted``,
    a ``reaction`` (``emoji``, "" when taken back) or a ``poll_vote`` (``options``, or
    ``option_hashes`` — WhatsApp names the options voted for by their SHA-256, hex — which
    the store resolves against the poll it holds)."""

    chat: str
    id: str
    change: str
    sender: str
    timestamp: datetime
    sender_lid: str = ""
    text: str = ""
    emoji: str = ""
    options: tuple[str, ...] = ()
    option_hashes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "chat": self.chat,
            "id": self.id,
            "change": self.change,
            "sender": self.sender,
            "timestamp": self.timestamp.isoformat(),
            "sender_lid": self.sender_lid,
            "text": self.text,
            "emoji": self.emoji,
            "options": list(self.options),
            "option_hashes": list(self.option_hashes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MessageChange":
        return cls(
            chat=str(data["chat"]),
            id=str(data["id"]),
            change=str(data["change"]),
            sender=str(data.get("sender", "")),
            timestamp=datetime.fromisoformat(str(data["timestamp"])),
            sender_lid=str(data.get("sender_lid", "")),
            text=str(data.get("text", "")),
            emoji=str(data.get("emoji", "")),
            options=tuple(str(option) for option in data.get("options") or ()),
            option_hashes=tuple(str(digest) for digest in data.get("option_hashes") or ()),
        )


@dataclass(frozen=True)
class MediaContent:
    """A message's media, downloaded."""

    data: bytes
    mimetype: str

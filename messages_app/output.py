"""A stored message as the API and the webhooks show it (one shape for both)."""

from typing import Any

from messages_app.models import Message


def _media(media: dict[str, Any] | None) -> dict[str, Any] | None:
    """The descriptor, without what the engine keeps to fetch the bytes (keys)."""
    if media is None:
        return None
    return {key: value for key, value in media.items() if key != "download"}


def message_output(message: Message) -> dict[str, Any]:
    extra = message.extra or {}
    return {
        "id": message.message_id,
        "chat": message.chat,
        "sender": message.sender,
        "senderLid": message.sender_lid,
        "fromMe": message.from_me,
        "type": message.kind,
        "timestamp": message.timestamp.isoformat().replace("+00:00", "Z"),
        "status": "sent" if message.from_me else "received",
        "text": message.text,
        "quotedId": message.quoted_id,
        "mentions": list(message.mentions or []),
        "media": _media(message.media),
        "poll": extra.get("poll"),
        "reaction": extra.get("reaction"),
        "groupInvite": extra.get("groupInvite"),
        "reactions": message.reactions or {},
        "votes": message.votes or {},
        "editedAt": message.edited_at.isoformat().replace("+00:00", "Z")
        if message.edited_at
        else None,
        "deletedAt": message.deleted_at.isoformat().replace("+00:00", "Z")
        if message.deleted_at
        else None,
    }

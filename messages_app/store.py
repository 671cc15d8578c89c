"""Stored messages: what engines report (received, changed) and what the API sent, and
their webhook events in the same transaction (the outbox, ``webhooks_app.events``)."""

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from messages_app.models import Message
from messages_app.output import message_output
from sessions_app.engines.messages import MessageChange, MessageInfo
from sessions_app.models import WhatsAppSession
from webhooks_app.events import record_event


def _fields(info: MessageInfo) -> dict[str, object]:
    return {
        "sender": info.sender,
        "sender_lid": info.sender_lid,
        "from_me": info.from_me,
        "kind": info.kind,
        "text": info.text,
        "quoted_id": info.quoted_id,
        "mentions": list(info.mentions),
        "media": info.media.to_dict() if info.media else None,
        "extra": info.extra,
        "timestamp": info.timestamp,
    }


def message_store(
    *, session_id: str, info: MessageInfo, announce: bool, send_key: str = ""
) -> tuple[Message, bool]:
    """Stores the message once (per session, chat and id): (the row, whether it is new).
    A new one is announced as ``message.received`` when ``announce`` (what arrived; not
    what the API itself sent, which keeps the ``send_key`` it was sent under)."""
    existing = Message.objects.filter(
        session_id=session_id, chat=info.chat, message_id=info.id
    ).first()
    if existing is not None:
        return existing, False
    organization_id = (
        WhatsAppSession.objects.filter(pk=session_id).values_list("organization_id", flat=True)
    ).first()
    if organization_id is None:
        raise Message.DoesNotExist(f"session {session_id} is gone")
    try:
        with transaction.atomic():
            message = Message.objects.create(
                session_id=session_id,
                chat=info.chat,
                message_id=info.id,
                send_key=send_key,
                **_fields(info),
            )
            if announce:
                record_event(
                    organization_id=organization_id,
                    session_id=session_id,
                    event_type="message.received",
                    data=message_output(message),
                )
    except IntegrityError:  # stored meanwhile (the same message reported twice at once)
        return Message.objects.get(session_id=session_id, chat=info.chat, message_id=info.id), False
    return message, True


def _voted_options(message: Message, change: MessageChange) -> list[str]:
    """The options a vote names: by name, or (WhatsApp) by the SHA-256 of each name,
    resolved against the stored poll; a digest of no option of it is left out."""
    if not change.option_hashes:
        return list(change.options)
    poll: dict[str, Any] = (message.extra or {}).get("poll") or {}
    by_digest = {
        hashlib.sha256(str(option).encode()).hexdigest(): str(option)
        for option in poll.get("options") or ()
    }
    return [by_digest[digest] for digest in change.option_hashes if digest in by_digest]


def message_change_apply(*, session_id: str, change: MessageChange) -> bool:
    """Applies an edit, a delete, a reaction or a poll vote to the stored message and
    announces it as ``message.updated``; False when the message is not stored (nothing
    to change: it predates the store, or was pruned)."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(session_id=session_id, chat=change.chat, message_id=change.id)
            .select_related("session")
            .first()
        )
        if message is None:
            return False
        voter = change.sender
        options = _voted_options(message, change) if change.change == "poll_vote" else []
        if change.change == "edited":
            message.text = change.text
            message.edited_at = change.timestamp
        elif change.change == "deleted":
            message.deleted_at = change.timestamp or timezone.now()
        elif change.change == "reaction":
            reactions = dict(message.reactions or {})
            if change.emoji:
                reactions[voter] = change.emoji
            else:
                reactions.pop(voter, None)
            message.reactions = reactions
        elif change.change == "poll_vote":
            message.votes = {**(message.votes or {}), voter: options}
        message.save()
        data = {
            "chat": change.chat,
            "id": change.id,
            "change": change.change,
            "sender": change.sender,
            "senderLid": change.sender_lid,
            "timestamp": change.timestamp.isoformat().replace("+00:00", "Z"),
            "message": message_output(message),
        }
        if change.change == "edited":
            data["text"] = change.text
        elif change.change == "reaction":
            data["emoji"] = change.emoji
        elif change.change == "poll_vote":
            data["options"] = options
        record_event(
            organization_id=message.session.organization_id,
            session_id=session_id,
            event_type="message.updated",
            data=data,
        )
    return True

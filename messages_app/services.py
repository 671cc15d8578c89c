"""Sending messages (a live action) and what the store says about where they may go."""

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime

from gateway.exceptions import Conflict, InvalidInput
from groups_app.models import Group, GroupParticipant
from groups_app.store import MEMBER_CODES
from messages_app.models import Message
from messages_app.registry import MESSAGE_MEDIA, SEND_MESSAGE, MessageRef, SendMessage
from messages_app.store import message_store
from sessions_app import routing
from sessions_app.engines.messages import MediaContent, OutgoingMessage
from sessions_app.exceptions import SessionNotConnected
from sessions_app.jids import is_group_jid
from sessions_app.models import WhatsAppSession
from sessions_app.send_budget import spending
from sessions_app.status import Engine


def message_id_for(*, session: WhatsAppSession, idempotency_key: str | None) -> str:
    """The id a new message is sent under, in WhatsApp's own format (``3EB0`` + hex).
    With an Idempotency-Key it is derived from it, so a retry after an unknown outcome
    sends the same message (one per id on every phone), never a second one."""
    if idempotency_key is None:
        return "3EB0" + secrets.token_hex(9).upper()
    seed = f"{session.organization_id}:{session.pk}:{idempotency_key}".encode()
    return "3EB0" + hashlib.sha256(seed).hexdigest()[:18].upper()


def _not_member() -> Conflict:
    return Conflict(
        "the account is not a member of this group (per the stored groups; sync to refresh)",
        details={"reason": "not_member"},
    )


def _not_admin(what: str) -> Conflict:
    return Conflict(f"the account is not an admin of {what}", details={"reason": "not_admin"})


def _membership(session: WhatsAppSession, group_jid: str) -> tuple[Group, GroupParticipant]:
    group = Group.objects.filter(session=session, jid=group_jid).first()
    if group is None:
        raise _not_member()
    me = GroupParticipant.objects.filter(
        group=group, jid=session.jid, add_error__in=MEMBER_CODES
    ).first()
    if me is None:
        raise _not_member()
    return group, me


def _members(group: Group) -> set[str]:
    return set(
        GroupParticipant.objects.filter(group=group, add_error__in=MEMBER_CODES).values_list(
            "jid", flat=True
        )
    )


def _checked(
    session: WhatsAppSession, message: OutgoingMessage, *, mention_all: bool
) -> OutgoingMessage:
    """Applies the rules that depend on the stored data: membership, admin rights,
    mentions of members, replies to stored messages."""
    if is_group_jid(message.to):
        group, me = _membership(session, message.to)
        if group.is_announce and not (me.is_admin or me.is_super_admin):
            raise _not_admin("this announce-only group")
        members = _members(group)
        if mention_all:
            message = replace(message, mentions=tuple(sorted(members - {session.jid})))
        strangers = [index for index, jid in enumerate(message.mentions) if jid not in members]
        if strangers:
            raise InvalidInput(
                details={"mentions": [f"not members of the group at {strangers[:20]}"]}
            )
    elif mention_all:
        raise InvalidInput(details={"mentionAll": ["only in a group"]})
    if message.kind == "group_invite":
        group, me = _membership(session, message.group_jid)
        if not (me.is_admin or me.is_super_admin):
            raise _not_admin("the group whose invite this is")
        message = replace(message, group_subject=group.subject)
    for field, message_id in (("replyTo", message.reply_to), ("reaction", message.reaction_to)):
        if not message_id:
            continue
        quoted = Message.objects.filter(
            session=session, chat=message.to, message_id=message_id
        ).first()
        if quoted is None:
            raise InvalidInput(details={field: [f"no stored message {message_id} in this chat"]})
        # WhatsApp quotes by id, sender and content: what the store holds of them.
        message = replace(
            message,
            quoted_sender=session.jid if quoted.from_me else quoted.sender,
            quoted_text=quoted.text,
        )
    return message


def engine_chooses_message_ids(engine: str) -> bool:
    """Whether the engine sends under the id the gateway gives it. The sandbox does;
    neonize 0.5.2 gives whatsmeow no id to send under (WhatsApp's id is picked at send
    time), so on ``whatsapp`` a send whose outcome was lost cannot be recognised later."""
    return engine == Engine.SANDBOX


def _outcome_unknown() -> Conflict:
    return Conflict(
        "the first request with this Idempotency-Key may have sent the message, and "
        "WhatsApp gives no way to find out; send with a new key to send it again",
        details={"reason": "outcome_unknown"},
    )


def message_send(
    *,
    session: WhatsAppSession,
    message: OutgoingMessage,
    message_id: str,
    mention_all: bool = False,
    look_first_since: datetime | None = None,
) -> Message:
    """Sends the message through the session (a live action) and stores it.

    ``message`` is well-formed (the API's serializer); this applies the rules that depend
    on the store and charges the session's send budget (1) before anything is sent. A
    message already sent under ``message_id`` (a retry with the same Idempotency-Key) is
    returned as it is, not sent again. After an unknown outcome (``look_first_since``:
    the runner died or WhatsApp did not answer) with nothing stored, the sandbox sends
    under the same id again (one message per id on every phone); on an engine that cannot
    choose ids the retry is refused (409 ``outcome_unknown``): at most once."""
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    message = _checked(session, message, mention_all=mention_all)
    stored = Message.objects.filter(session=session, send_key=message_id).first()
    if stored is not None:
        return stored
    if look_first_since is not None and not engine_chooses_message_ids(session.engine):
        raise _outcome_unknown()
    with spending(session=session, amount=1):
        sent = routing.perform(
            SEND_MESSAGE,
            session_id=session.id,
            payload=SendMessage(message=message, message_id=message_id),
        )
    return message_store(session_id=session.id, info=sent, announce=False, send_key=message_id)[0]


def message_media(*, session: WhatsAppSession, message: Message) -> MediaContent:
    """A stored media message's bytes, from WhatsApp (a live action)."""
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    return routing.perform(
        MESSAGE_MEDIA,
        session_id=session.id,
        payload=MessageRef(
            chat=message.chat,
            message_id=message.message_id,
            download=dict((message.media or {}).get("download") or {}),
        ),
    )

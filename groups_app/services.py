"""Operations on groups: live actions through the session's engine, and the store."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from gateway.exceptions import GatewayError, InvalidInput
from groups_app.exceptions import GroupNotFound
from groups_app.models import Group
from groups_app.registry import (
    CHANGE_PARTICIPANTS,
    CREATE_GROUP,
    FIND_CREATED_GROUP,
    INVITE_CODE,
    INVITE_CODE_RE,
    INVITE_INFO,
    JOIN_GROUP,
    JOIN_REQUESTS,
    LEAVE_GROUP,
    SET_ANNOUNCE,
    SET_DESCRIPTION,
    SET_LOCKED,
    SET_PICTURE,
    SET_SUBJECT,
    SYNC_GROUPS,
    ChangeParticipants,
    CreateGroup,
    FindCreatedGroup,
    GroupRef,
    InviteCode,
    InviteLink,
    SetDescription,
    SetFlag,
    SetPicture,
    SetSubject,
)
from groups_app.rules import MAX_INVITED
from groups_app.serializers import GroupInfoSerializer
from groups_app.store import SyncResult, group_store, group_store_synced, participants_changed
from sessions_app import routing
from sessions_app.engines.types import GroupInfo, JoinRequest, ParticipantResult, PendingJoin
from sessions_app.exceptions import SessionNotConnected
from sessions_app.models import WhatsAppSession
from sessions_app.registry import Empty, LiveActionSpec
from sessions_app.send_budget import spending
from webhooks_app.events import EventType, record_event


def _announce(session: WhatsAppSession, event_type: EventType, data: dict[str, Any]) -> None:
    """The webhook event of a change, in the change's transaction."""
    record_event(
        organization_id=session.organization_id,
        session_id=session.id,
        event_type=event_type,
        data=data,
    )


def _stored_and_announced(
    session: WhatsAppSession, info: GroupInfo, event_type: EventType
) -> Group:
    """Stores what a create or join returned and announces it — unless the store already
    had the group: WhatsApp tells the account of a group it created or joined with an
    event of its own (JoinedGroup), which may arrive before the call's answer and was
    announced when it was stored. One event per fact."""
    known = Group.objects.filter(session=session, jid=info.jid).exists()
    return group_store(
        session=session,
        info=info,
        known=known,
        on_stored=None
        if known
        else lambda group: _announce(session, event_type, dict(GroupInfoSerializer(group).data)),
    )


def _invitees(participants: list[str], *, own_jid: str) -> list[str]:
    """Duplicates collapsed (first occurrence kept) and the owner dropped: WhatsApp adds
    the session's own number implicitly."""
    unique = dict.fromkeys(participants)
    unique.pop(own_jid, None)
    return list(unique)


def group_create(
    *,
    session: WhatsAppSession,
    name: str,
    participants: list[str],
    look_first_since: datetime | None = None,
) -> Group:
    """Creates a group on WhatsApp through the session and stores it.

    ``name`` and ``participants`` are already well-formed (the API's input serializer);
    this applies the rules that depend on the session and on WhatsApp's limits. Not
    idempotent: every call creates a new group — except that with ``look_first_since``
    (retrying an attempt whose outcome is unknown) a group WhatsApp made since then with
    this subject is found and stored instead of making another.
    """
    invitees = _invitees(participants, own_jid=session.jid)
    if not invitees:
        raise InvalidInput(
            details={"participants": ["list at least one member other than the session's own"]}
        )
    if len(invitees) > MAX_INVITED:
        raise InvalidInput(
            details={"participants": [f"a group holds at most {MAX_INVITED} invitees"]}
        )
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    # The group (1) and each person added (1 each) reach people: the session's budget.
    with spending(session=session, amount=1 + len(invitees)):
        return _group_created(session, name, invitees, look_first_since)


def _group_created(
    session: WhatsAppSession, name: str, invitees: list[str], look_first_since: datetime | None
) -> Group:
    if look_first_since is not None:
        found = routing.perform(
            FIND_CREATED_GROUP,
            session_id=session.id,
            payload=FindCreatedGroup(name=name, since=look_first_since.timestamp()),
        )
        if found is not None:
            return _stored_and_announced(session, found, "group.created")
    info = routing.perform(
        CREATE_GROUP,
        session_id=session.id,
        payload=CreateGroup(name=name, participants=invitees),
    )
    return _stored_and_announced(session, info, "group.created")


def group_sync(*, session: WhatsAppSession) -> SyncResult:
    """Refreshes the session's stored groups from WhatsApp (a live action)."""
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    fetch_started = timezone.now()
    infos = routing.perform(SYNC_GROUPS, session_id=session.id, payload=Empty())
    return group_store_synced(
        session_id=session.id, infos=infos, complete=True, fetch_started=fetch_started
    )


# -- group management -----------------------------------------------------------------


def _stored_group(session: WhatsAppSession, jid: str) -> Group:
    group = Group.objects.filter(session=session, jid=jid).first()
    if group is None:
        raise GroupNotFound()
    return group


def _live_ready(session: WhatsAppSession) -> None:
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})


def group_participants_change(
    *, session: WhatsAppSession, jid: str, action: str, participants: list[str]
) -> list[ParticipantResult]:
    """Adds, removes, promotes or demotes people (a live action) and stores the outcome.
    A partial refusal is not an error: each person's result says what happened."""
    group = _stored_group(session, jid)
    people = list(dict.fromkeys(participants))
    if action == "add":
        people = _invitees(people, own_jid=session.jid)
    elif action in ("remove", "demote") and session.jid and session.jid in people:
        # That would lock the gateway out of the group it runs; leaving has its own call.
        raise InvalidInput(
            details={
                "participants": [
                    f"the session's own number cannot be {action}d here; "
                    "to leave the group, POST …/leave"
                ]
            }
        )
    if not people:
        raise InvalidInput(details={"participants": ["list someone other than the account"]})
    _live_ready(session)
    # Each person added reaches someone: the session's budget (other changes cost nothing).
    with spending(session=session, amount=len(people) if action == "add" else 0):
        results = routing.perform(
            CHANGE_PARTICIPANTS,
            session_id=session.id,
            payload=ChangeParticipants(group_jid=jid, action=action, participants=people),
        )
    with transaction.atomic():
        participants_changed(group=group, action=action, results=results)
        changed = [result.jid for result in results if result.succeeded]
        if changed:
            _announce(
                session,
                "group.participants",
                {"groupJid": jid, "action": action, "participants": changed},
            )
    return results


# PATCH fields, in the order they are applied: (API name, registry row, payload, column).
_UPDATES: tuple[tuple[str, LiveActionSpec[Any, None], Callable[[str, Any], Any], str], ...] = (
    ("subject", SET_SUBJECT, lambda jid, v: SetSubject(group_jid=jid, subject=v), "subject"),
    (
        "description",
        SET_DESCRIPTION,
        lambda jid, v: SetDescription(group_jid=jid, description=v),
        "description",
    ),
    ("isAnnounce", SET_ANNOUNCE, lambda jid, v: SetFlag(group_jid=jid, value=v), "is_announce"),
    ("isLocked", SET_LOCKED, lambda jid, v: SetFlag(group_jid=jid, value=v), "is_locked"),
)


def group_update(*, session: WhatsAppSession, jid: str, changes: dict[str, Any]) -> Group:
    """Changes the subject, description and settings (one WhatsApp call each, in that
    order), storing each as it succeeds. If one fails after others succeeded, the error
    says in ``details.applied`` which did change; those are stored."""
    group = _stored_group(session, jid)
    _live_ready(session)
    applied: list[str] = []
    try:
        for name, spec, payload, column in _UPDATES:
            if name not in changes:
                continue
            try:
                routing.perform(spec, session_id=session.id, payload=payload(jid, changes[name]))
            except GatewayError as exc:
                if applied:
                    exc.details = {**exc.details, "applied": applied}
                raise
            Group.objects.filter(pk=group.pk).update(**{column: changes[name]})
            applied.append(name)
    finally:
        if applied:
            group.refresh_from_db()
            _announce(
                session,
                "group.updated",
                {**GroupInfoSerializer(group).data, "changed": applied},
            )
    return group


def group_invite(*, session: WhatsAppSession, jid: str, revoke: bool = False) -> str:
    """The group's invite code (a live action); ``revoke`` replaces it, and the old one
    stops working."""
    group = _stored_group(session, jid)
    _live_ready(session)
    code = routing.perform(
        INVITE_CODE, session_id=session.id, payload=InviteLink(group_jid=jid, revoke=revoke)
    )
    Group.objects.filter(pk=group.pk).update(invite_code=code)
    return code


def group_leave(*, session: WhatsAppSession, jid: str) -> None:
    """The account leaves the group (a live action); it goes from the stored data."""
    group = _stored_group(session, jid)
    _live_ready(session)
    routing.perform(LEAVE_GROUP, session_id=session.id, payload=GroupRef(group_jid=jid))
    with transaction.atomic():
        group.delete()
        _announce(session, "group.left", {"groupJid": jid, "reason": "left"})


def group_set_picture(*, session: WhatsAppSession, jid: str, image: str) -> str:
    """Sets the group's picture from a base64 JPEG (checked by the serializer); returns
    WhatsApp's picture id."""
    _stored_group(session, jid)
    _live_ready(session)
    return routing.perform(
        SET_PICTURE, session_id=session.id, payload=SetPicture(group_jid=jid, image=image)
    )


def group_join_requests(*, session: WhatsAppSession, jid: str) -> list[JoinRequest]:
    _stored_group(session, jid)
    _live_ready(session)
    return routing.perform(JOIN_REQUESTS, session_id=session.id, payload=GroupRef(group_jid=jid))


def invite_code_of(text: str) -> str:
    """The code of ``text``: a code, or a ``https://chat.whatsapp.com/<code>`` link."""
    code = text.strip().rstrip("/").rsplit("/", 1)[-1]
    if not INVITE_CODE_RE.fullmatch(code):
        raise InvalidInput(details={"code": ["an invite code or a chat.whatsapp.com link"]})
    return code


def group_join(*, session: WhatsAppSession, code: str) -> Group | PendingJoin:
    """Joins the group behind an invite (a live action) and stores it. A group that needs
    an admin's approval answers ``PendingJoin``: the request is filed, nothing is stored
    (the group arrives with the sync, or its event, once an admin lets the account in)."""
    _live_ready(session)
    joined = routing.perform(
        JOIN_GROUP, session_id=session.id, payload=InviteCode(code=invite_code_of(code))
    )
    if isinstance(joined, PendingJoin):
        return joined
    return _stored_and_announced(session, joined, "group.joined")


def group_invite_info(*, session: WhatsAppSession, code: str) -> GroupInfo:
    """A preview of the group behind an invite, without joining (nothing is stored)."""
    _live_ready(session)
    return routing.perform(
        INVITE_INFO, session_id=session.id, payload=InviteCode(code=invite_code_of(code))
    )

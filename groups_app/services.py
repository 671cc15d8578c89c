"""Operations on groups: live actions through the session's engine, and the store."""

from datetime import datetime

from django.utils import timezone

from gateway.exceptions import InvalidInput
from groups_app.actions import (
    CREATE_GROUP,
    FIND_CREATED_GROUP,
    SYNC_GROUPS,
    CreateGroup,
    FindCreatedGroup,
)
from groups_app.models import Group
from groups_app.rules import MAX_INVITED
from groups_app.store import SyncResult, group_store, group_store_synced
from sessions_app import live
from sessions_app.actions import Empty
from sessions_app.exceptions import SessionNotConnected
from sessions_app.models import WhatsAppSession


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
    if look_first_since is not None:
        found = live.perform(
            FIND_CREATED_GROUP,
            session_id=session.id,
            payload=FindCreatedGroup(name=name, since=look_first_since.timestamp()),
        )
        if found is not None:
            return group_store(session=session, info=found)
    info = live.perform(
        CREATE_GROUP,
        session_id=session.id,
        payload=CreateGroup(name=name, participants=invitees),
    )
    return group_store(session=session, info=info)


def group_sync(*, session: WhatsAppSession) -> SyncResult:
    """Refreshes the session's stored groups from WhatsApp (a live action)."""
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    fetch_started = timezone.now()
    infos = live.perform(SYNC_GROUPS, session_id=session.id, payload=Empty())
    return group_store_synced(
        session_id=session.id, infos=infos, complete=True, fetch_started=fetch_started
    )

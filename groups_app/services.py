"""Operations on groups: live actions through the session's engine, and the store."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from gateway.exceptions import InvalidInput
from groups_app.models import Group, GroupParticipant
from groups_app.rules import MAX_INVITED
from sessions_app import live
from sessions_app.engines.types import GroupInfo
from sessions_app.exceptions import SessionNotConnected
from sessions_app.models import WhatsAppSession

REMOVAL_GRACE = timedelta(minutes=1)

_STORED_FIELDS = [
    "subject",
    "description",
    "owner_jid",
    "is_announce",
    "is_locked",
    "participant_count",
    "whatsapp_created_at",
]


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
        found = live.find_created_group(session_id=session.id, name=name, since=look_first_since)
        if found is not None:
            return group_store(session=session, info=found)
    info = live.create_group(session_id=session.id, name=name, participants=invitees)
    return group_store(session=session, info=info)


@dataclass(frozen=True)
class SyncResult:
    stored: int
    removed: int


def group_sync(*, session: WhatsAppSession) -> SyncResult:
    """Refreshes the session's stored groups from WhatsApp (a live action)."""
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    fetch_started = timezone.now()
    infos = live.sync_groups(session_id=session.id)
    return group_store_synced(
        session_id=session.id, infos=infos, complete=True, fetch_started=fetch_started
    )


def group_store_synced(
    *,
    session_id: str,
    infos: list[GroupInfo],
    complete: bool,
    fetch_started: datetime | None = None,
) -> SyncResult:
    """Stores groups WhatsApp reported. ``complete``: these are all the account's groups,
    so stored groups not among them (left, deleted) are removed — but only those not
    stored since ``fetch_started``: a group created while the list was being fetched is
    not in it, and must not be removed (the race a sync runs against creations). A group
    stored within REMOVAL_GRACE before the fetch is kept too: its row can be stamped
    before the fetch yet committed after it; the next sync removes it if it is gone."""
    session = WhatsAppSession(pk=session_id)
    with transaction.atomic():
        for info in infos:
            group_store(session=session, info=info)
        removed = 0
        if complete:
            gone = Group.objects.filter(session_id=session_id).exclude(
                jid__in=[info.jid for info in infos]
            )
            if fetch_started is not None:
                gone = gone.filter(updated_at__lt=fetch_started - REMOVAL_GRACE)
            _, deleted = gone.delete()
            removed = deleted.get(Group._meta.label, 0)
    return SyncResult(stored=len(infos), removed=removed)


@transaction.atomic
def group_store(*, session: WhatsAppSession, info: GroupInfo) -> Group:
    """Upserts a group and replaces its participants with what WhatsApp reported.

    One INSERT ... ON CONFLICT on (session, jid), so a sync racing a creation of the same
    group updates the row instead of failing or duplicating it.
    """
    (group,) = Group.objects.bulk_create(
        [
            Group(
                session=session,
                jid=info.jid,
                subject=info.subject,
                description=info.description,
                owner_jid=info.owner_jid,
                is_announce=info.is_announce,
                is_locked=info.is_locked,
                participant_count=info.member_count,
                whatsapp_created_at=info.created_at,
            )
        ],
        update_conflicts=True,
        unique_fields=["session", "jid"],
        update_fields=[*_STORED_FIELDS, "updated_at"],
    )
    GroupParticipant.objects.filter(group=group).delete()
    GroupParticipant.objects.bulk_create(
        GroupParticipant(
            group=group,
            jid=participant.jid,
            is_admin=participant.is_admin,
            is_super_admin=participant.is_super_admin,
            add_error=participant.error,
            invite_code=participant.invite_code,
            invite_expires_at=participant.invite_expires_at,
        )
        for participant in info.participants
    )
    return group

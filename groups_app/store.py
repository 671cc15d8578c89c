"""The stored groups: engine-neutral ``GroupInfo`` in, rows out, and back.

This is the one place that maps ``GroupInfo``/``ParticipantInfo`` to the ``Group`` and
``GroupParticipant`` columns (``_GROUP_COLUMNS``, ``_PARTICIPANT_COLUMNS``). The runner
writes through it (what live sessions report), the web process after a live action.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from groups_app.models import Group, GroupParticipant
from sessions_app.engines.types import (
    ADDED,
    ALREADY_MEMBER,
    GroupChange,
    GroupInfo,
    ParticipantInfo,
    ParticipantResult,
)
from sessions_app.models import WhatsAppSession
from webhooks_app.events import record_event

# GroupInfo attribute → Group column. (participant_count is derived: member_count.)
_GROUP_COLUMNS = {
    "subject": "subject",
    "description": "description",
    "owner_jid": "owner_jid",
    "is_announce": "is_announce",
    "is_locked": "is_locked",
    "created_at": "whatsapp_created_at",
}
# ParticipantInfo attribute → GroupParticipant column.
_PARTICIPANT_COLUMNS = {
    "jid": "jid",
    "is_admin": "is_admin",
    "is_super_admin": "is_super_admin",
    "error": "add_error",
    "invite_code": "invite_code",
    "invite_expires_at": "invite_expires_at",
    "lid": "lid",
}


def _participant_row(participant: ParticipantInfo, learnt: dict[str, str]) -> dict[str, Any]:
    row = {
        column: getattr(participant, attribute)
        for attribute, column in _PARTICIPANT_COLUMNS.items()
    }
    if not participant.lid and participant.jid in learnt:
        row["lid"] = learnt[participant.jid]
    return row


REMOVAL_GRACE = timedelta(minutes=1)
# Stored participants who are in the group (others were refused: invite needed, …).
MEMBER_CODES = (ADDED, ALREADY_MEMBER)


def _group_row(info: GroupInfo) -> dict[str, Any]:
    row = {column: getattr(info, attribute) for attribute, column in _GROUP_COLUMNS.items()}
    row["participant_count"] = info.member_count
    return row


def info_of(group: Group) -> GroupInfo:
    """A stored group (participants prefetched or not) as a GroupInfo."""
    return GroupInfo(
        jid=group.jid,
        **{attribute: getattr(group, column) for attribute, column in _GROUP_COLUMNS.items()},
        participants=tuple(
            ParticipantInfo(
                **{
                    attribute: getattr(participant, column)
                    for attribute, column in _PARTICIPANT_COLUMNS.items()
                }
            )
            for participant in group.participants.all()
        ),
    )


def group_infos(*, session_id: str) -> list[GroupInfo]:
    """The session's stored groups as engine-neutral GroupInfo, participants included."""
    groups = Group.objects.filter(session_id=session_id).prefetch_related("participants")
    return [info_of(group) for group in groups]


def group_jids(*, session_id: str, stored_before: float) -> list[str]:
    """The session's groups first stored before the Unix time ``stored_before``."""
    before = datetime.fromtimestamp(stored_before, tz=UTC)
    rows = Group.objects.filter(session_id=session_id, created_at__lt=before)
    return list(rows.values_list("jid", flat=True))


def not_known_before(*, session_id: str, infos: list[GroupInfo], since: float) -> list[GroupInfo]:
    """Those of ``infos`` the session's store did not hold before the Unix time ``since``
    (not stored at all, or first stored since)."""
    known = set(
        Group.objects.filter(
            session_id=session_id,
            jid__in=[info.jid for info in infos],
            created_at__lt=datetime.fromtimestamp(since, tz=UTC),
        ).values_list("jid", flat=True)
    )
    return [info for info in infos if info.jid not in known]


@transaction.atomic
def group_store(
    *,
    session: WhatsAppSession,
    info: GroupInfo,
    on_stored: Callable[[Group], None] | None = None,
    known: bool = True,
) -> Group:
    """Upserts a group and replaces its participants with what WhatsApp reported;
    ``on_stored(group)`` runs in the same transaction (the webhook event of the change).
    A member's LID learnt earlier (from an event) is kept when WhatsApp's answer names
    the member by phone number alone; ``known=False`` (the group is new to the store)
    skips looking for any.

    One INSERT ... ON CONFLICT on (session, jid), so a sync racing a creation of the same
    group updates the row instead of failing or duplicating it.
    """
    row = _group_row(info)
    (group,) = Group.objects.bulk_create(
        [Group(session=session, jid=info.jid, **row)],
        update_conflicts=True,
        unique_fields=["session", "jid"],
        update_fields=[*row, "updated_at"],
    )
    learnt: dict[str, str] = {}
    if known:
        learnt = dict(
            GroupParticipant.objects.filter(group=group).exclude(lid="").values_list("jid", "lid")
        )
    GroupParticipant.objects.filter(group=group).delete()
    GroupParticipant.objects.bulk_create(
        GroupParticipant(group=group, **_participant_row(participant, learnt))
        for participant in info.participants
    )
    if on_stored is not None:
        on_stored(group)
    return group


@dataclass(frozen=True)
class SyncResult:
    stored: int
    removed: int


def group_store_synced(
    *,
    session_id: str,
    infos: list[GroupInfo],
    complete: bool,
    fetch_started: datetime | None = None,
    created: bool = False,
) -> SyncResult:
    """Stores groups WhatsApp reported. ``complete``: these are all the account's groups,
    so stored groups not among them (left, deleted) are removed — but only those not
    stored since ``fetch_started``: a group created while the list was being fetched is
    not in it, and must not be removed (the race a sync runs against creations). A group
    stored within REMOVAL_GRACE before the fetch is kept too: its row can be stamped
    before the fetch yet committed after it; the next sync removes it if it is gone.

    Groups new to the store are announced as ``group.joined`` (``group.created`` when
    ``created``: the account made them), removed ones as ``group.left`` (webhook events,
    in the same transaction)."""
    session = WhatsAppSession(pk=session_id)
    organization_id = (
        WhatsAppSession.objects.filter(pk=session_id).values_list("organization_id", flat=True)
    ).first()
    with transaction.atomic():
        known = set(
            Group.objects.filter(
                session_id=session_id, jid__in=[info.jid for info in infos]
            ).values_list("jid", flat=True)
        )
        for info in infos:
            group = group_store(session=session, info=info, known=info.jid in known)
            if info.jid not in known and organization_id is not None:
                record_event(
                    organization_id=organization_id,
                    session_id=session_id,
                    event_type="group.created" if created else "group.joined",
                    data=_announced(group),
                )
        removed = 0
        if complete:
            gone = Group.objects.filter(session_id=session_id).exclude(
                jid__in=[info.jid for info in infos]
            )
            if fetch_started is not None:
                gone = gone.filter(updated_at__lt=fetch_started - REMOVAL_GRACE)
            left = list(gone.values_list("jid", flat=True))
            _, deleted = gone.delete()
            removed = deleted.get(Group._meta.label, 0)
            for jid in left:
                if organization_id is not None:
                    record_event(
                        organization_id=organization_id,
                        session_id=session_id,
                        event_type="group.left",
                        data={"groupJid": jid, "reason": "not_listed"},
                    )
    return SyncResult(stored=len(infos), removed=removed)


@transaction.atomic
def group_remove(*, session_id: str, group_jid: str, reason: str) -> bool:
    """The account is out of the group (``reason``: "removed", "deleted"): the stored
    group goes, announced as ``group.left`` in the same transaction. False when it was
    not stored."""
    group = Group.objects.filter(session_id=session_id, jid=group_jid).select_related("session")
    organization_id = group.values_list("session__organization_id", flat=True).first()
    if organization_id is None:
        return False
    group.delete()
    record_event(
        organization_id=organization_id,
        session_id=session_id,
        event_type="group.left",
        data={"groupJid": group_jid, "reason": reason},
    )
    return True


def _announced(group: Group) -> dict[str, Any]:
    """A group's info as webhook events carry it: the API's GroupInfo."""
    from groups_app.serializers import GroupInfoSerializer

    return dict(GroupInfoSerializer(group).data)


def stored_invite_code(*, session_id: str, group_jid: str) -> str:
    code = Group.objects.filter(session_id=session_id, jid=group_jid).values_list(
        "invite_code", flat=True
    )
    return code.first() or ""


def _recount(group: Group) -> None:
    members = GroupParticipant.objects.filter(group=group, add_error__in=MEMBER_CODES).count()
    Group.objects.filter(pk=group.pk).update(participant_count=members)


@transaction.atomic
def participants_changed(*, group: Group, action: str, results: list[ParticipantResult]) -> None:
    """Applies what WhatsApp answered to the stored members: an added (or invited, or
    refused) person is one row, however often they are added; removed ones go; promoted
    and demoted ones change role. The member count follows. A fixed number of queries
    whatever the number of people (one upsert, delete or update for all of them)."""
    if action == "add":
        # The same person twice in one answer: the last word counts.
        rows = {
            result.jid: GroupParticipant(
                group=group,
                jid=result.jid,
                add_error=409 if result.result == "already_member" else result.error_code or 0,
                invite_code=result.invite_code,
                invite_expires_at=result.invite_expires_at,
            )
            for result in results
        }
        GroupParticipant.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["group", "jid"],
            update_fields=["add_error", "invite_code", "invite_expires_at"],
        )
    else:
        changed = GroupParticipant.objects.filter(
            group=group, jid__in=[result.jid for result in results if result.succeeded]
        )
        if action == "remove":
            changed.delete()
        elif action == "promote":
            changed.update(is_admin=True)
        else:
            changed.update(is_admin=False, is_super_admin=False)
    _recount(group)


def group_by_invite_code(*, code: str) -> GroupInfo | None:
    """Any session's stored group whose current invite code this is."""
    group = Group.objects.filter(invite_code=code).prefetch_related("participants").first()
    return info_of(group) if group else None


API_NAMES = {
    "subject": "subject",
    "description": "description",
    "is_announce": "isAnnounce",
    "is_locked": "isLocked",
}


def _api_fields(updates: dict[str, Any]) -> dict[str, Any]:
    return {API_NAMES[name]: value for name, value in updates.items()}


@transaction.atomic
def apply_group_change(*, session_id: str, change: GroupChange) -> None:
    """A group event's changes, on the stored group (ignored when it is not stored: the
    next sync brings it)."""
    group = (
        Group.objects.filter(session_id=session_id, jid=change.jid)
        .select_related("session")
        .first()
    )
    if group is None:
        return
    fields = {
        "subject": change.subject,
        "description": change.description,
        "is_announce": change.is_announce,
        "is_locked": change.is_locked,
    }
    updates = {name: value for name, value in fields.items() if value is not None}
    if updates:
        Group.objects.filter(pk=group.pk).update(**updates)
    lid_of = dict(change.lids)
    for phone, lid in change.lids:
        # A member stored by LID until now is stored by phone number from now on.
        GroupParticipant.objects.filter(group=group, jid=lid).exclude(jid=phone).update(
            jid=phone, lid=lid
        )
        GroupParticipant.objects.filter(group=group, jid=phone).update(lid=lid)
    for jid in change.joined:
        GroupParticipant.objects.update_or_create(
            group=group,
            jid=jid,
            defaults={"add_error": ADDED, "invite_code": "", "lid": lid_of.get(jid, "")},
        )

    def members(people: tuple[str, ...]) -> Any:
        # By phone number, or by the LID a member is known by.
        return GroupParticipant.objects.filter(group=group).filter(
            Q(jid__in=people) | Q(lid__in=people)
        )

    members(change.left).delete()
    members(change.promoted).update(is_admin=True)
    members(change.demoted).update(is_admin=False, is_super_admin=False)
    if change.joined or change.left:
        _recount(group)
    # The webhook events, in the same transaction.
    organization_id = group.session.organization_id
    if updates:
        changed = [API_NAMES[name] for name in updates]
        record_event(
            organization_id=organization_id,
            session_id=session_id,
            event_type="group.updated",
            data={"groupJid": change.jid, **_api_fields(updates), "changed": changed},
        )
    for action, people in (
        ("join", change.joined),
        ("leave", change.left),
        ("promote", change.promoted),
        ("demote", change.demoted),
    ):
        if people:
            record_event(
                organization_id=organization_id,
                session_id=session_id,
                event_type="group.participants",
                data={"groupJid": change.jid, "action": action, "participants": list(people)},
            )

from typing import Any

from django.db.models import QuerySet

from groups_app.exceptions import GroupNotFound
from groups_app.models import Group
from sessions_app.engines.types import GroupInfo, ParticipantInfo
from sessions_app.models import WhatsAppSession


def group_list(*, session: WhatsAppSession) -> QuerySet[Group]:
    """The session's stored groups, newest first. The session comes from an
    organization-scoped selector, so the groups are the caller's."""
    return Group.objects.filter(session=session).order_by("-id")


GROUP_INFO_FIELDS = (
    "id",
    "jid",
    "subject",
    "description",
    "owner_jid",
    "is_announce",
    "is_locked",
    "participant_count",
)


def group_info_rows(*, session: WhatsAppSession) -> QuerySet[Group, dict[str, Any]]:
    """The session's stored groups, newest first, as plain rows of exactly the fields a
    group's info needs (the list endpoint's hot path: no model instances)."""
    return group_list(session=session).values(*GROUP_INFO_FIELDS)


def group_get(*, session: WhatsAppSession, jid: str) -> Group:
    group = Group.objects.filter(session=session, jid=jid).first()
    if group is None:
        raise GroupNotFound()
    return group


def group_infos(*, session_id: str) -> list[GroupInfo]:
    """The session's stored groups as engine-neutral GroupInfo, participants included."""
    groups = Group.objects.filter(session_id=session_id).prefetch_related("participants")
    return [
        GroupInfo(
            jid=group.jid,
            subject=group.subject,
            owner_jid=group.owner_jid,
            description=group.description,
            is_announce=group.is_announce,
            is_locked=group.is_locked,
            created_at=group.whatsapp_created_at,
            participants=tuple(
                ParticipantInfo(
                    jid=participant.jid,
                    is_admin=participant.is_admin,
                    is_super_admin=participant.is_super_admin,
                    error=participant.add_error,
                    invite_code=participant.invite_code,
                    invite_expires_at=participant.invite_expires_at,
                )
                for participant in group.participants.all()
            ),
        )
        for group in groups
    ]

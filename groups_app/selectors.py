from typing import Any

from django.db.models import QuerySet

from groups_app.exceptions import GroupNotFound
from groups_app.models import Group, GroupParticipant
from groups_app.store import MEMBER_CODES
from sessions_app.models import WhatsAppSession


def group_list(*, session: WhatsAppSession) -> QuerySet[Group]:
    """The session's stored groups, newest first. The session comes from an
    organization-scoped selector, so the groups are the caller's."""
    return Group.objects.filter(session=session).order_by("-id")


def group_info_rows(
    *, session: WhatsAppSession, fields: list[str]
) -> QuerySet[Group, dict[str, Any]]:
    """The session's stored groups, newest first, as plain rows of ``fields`` (the list
    endpoint's hot path: no model instances; ``id`` is added for the cursor)."""
    return group_list(session=session).values("id", *fields)


def group_get(*, session: WhatsAppSession, jid: str) -> Group:
    group = Group.objects.filter(session=session, jid=jid).first()
    if group is None:
        raise GroupNotFound()
    return group


def group_members(*, group: Group) -> list[dict[str, str]]:
    """The stored members (not those WhatsApp refused) with their roles."""
    members = GroupParticipant.objects.filter(group=group, add_error__in=MEMBER_CODES).order_by(
        "id"
    )
    return [{"jid": member.jid, "role": member.role} for member in members]

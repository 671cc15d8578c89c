from typing import Any

from django.db.models import QuerySet

from auth_app.models import Organization
from groups_app.exceptions import GroupNotFound
from groups_app.models import Group, GroupParticipant
from groups_app.store import MEMBER_CODES
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import normalise_session_id, session_get


def group_list(*, session: WhatsAppSession) -> QuerySet[Group]:
    """The session's stored groups, newest first. The session comes from an
    organization-scoped selector, so the groups are the caller's."""
    return Group.objects.filter(session=session).order_by("-id")


def group_info_rows(
    *, organization: Organization, session_id: str, fields: list[str]
) -> QuerySet[Group, dict[str, Any]]:
    """The stored groups of the organization's session ``session_id``, newest first, as
    plain rows of ``fields`` (``id`` is added for the cursor).

    The list endpoint's hot path, so one query: the organization is checked by a join
    (``session__organization``) instead of loading the session first. A session that is
    missing or another organization's yields no rows; the caller tells that apart from an
    empty list (``session_get``) only when the page is empty."""
    normalised = normalise_session_id(session_id)
    if normalised is None:
        return Group.objects.none().values("id", *fields)
    return (
        Group.objects.filter(session_id=normalised, session__organization=organization)
        .order_by("-id")
        .values("id", *fields)
    )


def group_of_organization(*, organization: Organization, session_id: str, jid: str) -> Group:
    """One stored group of the organization's session, in one query on the hot path (the
    organization checked by a join, as in ``group_info_rows``). When there is none, the
    session is looked up to say which is missing: SessionNotFound or GroupNotFound."""
    normalised = normalise_session_id(session_id)
    group = (
        Group.objects.filter(
            session_id=normalised, session__organization=organization, jid=jid
        ).first()
        if normalised
        else None
    )
    if group is None:
        session_get(organization=organization, session_id=session_id)
        raise GroupNotFound()
    return group


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

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet

from auth_app.models import Organization
from gateway.pagination import KeysetWindow
from groups_app.exceptions import GroupNotFound
from groups_app.models import Group, GroupParticipant
from groups_app.store import MEMBER_CODES
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import normalise_session_id, session_get


def group_list(*, session: WhatsAppSession) -> QuerySet[Group]:
    """The session's stored groups, newest first. The session comes from an
    organization-scoped selector, so the groups are the caller's."""
    return Group.objects.filter(session=session).order_by("-id")


def group_info_page(
    *, organization: Organization, session_id: str, fields: tuple[str, ...], window: KeysetWindow
) -> list[dict[str, Any]]:
    """One page of the stored groups of the organization's session ``session_id``, as
    plain rows of ``fields`` plus ``id`` (the cursor's position).

    The list endpoint is what clients poll, so this read is written in SQL rather than
    built by the ORM: building and compiling the equivalent queryset cost more than
    running it, on every request. It is still one query, and still scoped by
    construction: the organization is checked by the join, so a session that is missing
    or another organization's yields no rows (the caller tells that apart from an empty
    list with ``session_get``, only when the page is empty). The statement walks the
    ``(session, -id)`` index whatever the number of stored groups.
    """
    normalised = normalise_session_id(session_id)
    if normalised is None:
        return []
    statement = _group_page_statement(fields, window.ascending, window.position is not None)
    parameters: list[Any] = [normalised, organization.pk]
    if window.position is not None:
        parameters.append(window.position)
    parameters += [window.limit, window.offset]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, parameters)
        return [statement.row(values) for values in cursor.fetchall()]


@dataclass(frozen=True)
class _PageStatement:
    sql: str
    names: tuple[str, ...]
    # SQLite hands booleans back as 0 and 1; the answer says true and false.
    booleans: frozenset[int]

    def row(self, values: tuple[Any, ...]) -> dict[str, Any]:
        row = dict(zip(self.names, values, strict=True))
        for index in self.booleans:
            name = self.names[index]
            row[name] = bool(row[name])
        return row


@functools.cache
def _group_page_statement(
    fields: tuple[str, ...], ascending: bool, bounded: bool
) -> _PageStatement:
    """The page query for ``group_info_page``; table and column names come from the
    models, so the statement follows a rename."""
    group_fields = [_concrete_field(Group, name) for name in ("id", *fields)]
    session_meta = WhatsAppSession._meta
    columns = ", ".join(f"g.{field.column}" for field in group_fields)
    session_column = _concrete_field(Group, "session").column
    organization_column = _concrete_field(WhatsAppSession, "organization").column
    key = group_fields[0].column
    session_key = _concrete_field(WhatsAppSession, "id").column
    bound = (f" AND g.{key} > %s" if ascending else f" AND g.{key} < %s") if bounded else ""
    # Only names from the models go into the text; every value is a parameter.
    sql = (
        f"SELECT {columns} FROM {Group._meta.db_table} g"  # noqa: S608
        f" JOIN {session_meta.db_table} s ON s.{session_key} = g.{session_column}"
        f" WHERE g.{session_column} = %s AND s.{organization_column} = %s{bound}"
        f" ORDER BY g.{key} {'ASC' if ascending else 'DESC'} LIMIT %s OFFSET %s"
    )
    return _PageStatement(
        sql=sql,
        names=tuple(field.name for field in group_fields),
        booleans=frozenset(
            index
            for index, field in enumerate(group_fields)
            if isinstance(field, models.BooleanField)
        ),
    )


def _concrete_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def group_of_organization(*, organization: Organization, session_id: str, jid: str) -> Group:
    """One stored group of the organization's session, in one query on the hot path (the
    organization checked by a join, as in ``group_info_page``). When there is none, the
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

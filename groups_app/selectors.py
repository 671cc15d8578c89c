import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from auth_app.models import Organization
from gateway.pagination import KeysetWindow
from groups_app.exceptions import GroupNotFound
from groups_app.models import Group, GroupParticipant
from groups_app.store import MEMBER_CODES
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import session_get, session_owned_id


def group_page(
    *, organization: Organization, session_id: str, fields: tuple[str, ...], window: KeysetWindow
) -> list[dict[str, Any]]:
    """One page of the stored groups of the organization's session ``session_id``, as
    plain rows of ``fields`` plus ``id`` (the cursor's position).

    The list endpoint is what clients poll, so this read is written in SQL rather than
    built by the ORM (building and compiling the equivalent queryset cost more than
    running it, on every request), and reads one table: the session is first checked to
    be the organization's (``session_owned_id``: remembered once seen, since a session
    never changes organization), so a session that is missing or another
    organization's yields no rows (the caller tells that apart from an empty list with
    ``session_get``, only when the page is empty). The statement walks the
    ``(session, -id)`` index whatever the number of stored groups.
    """
    owned = session_owned_id(organization=organization, session_id=session_id)
    if owned is None:
        return []
    if window.position is None:
        statement = _group_rows_statement(fields, (), window.ascending)
        values: list[Any] = [owned]
    else:
        bound = ("id", ">" if window.ascending else "<")
        statement = _group_rows_statement(fields, (bound,), window.ascending)
        values = [owned, window.position]
    return statement.rows([*values, window.limit, window.offset])


def group_row(
    *, organization: Organization, session_id: str, jid: str, fields: tuple[str, ...]
) -> dict[str, Any]:
    """One stored group of the organization's session as a plain row of ``fields``: the
    get endpoint's read, in SQL and scoped as ``group_page`` is. When there is none,
    the session is looked up to say which is missing: SessionNotFound or GroupNotFound."""
    owned = session_owned_id(organization=organization, session_id=session_id)
    statement = _group_rows_statement(fields, (("jid", "="),), None)
    rows = statement.rows([owned, jid]) if owned else []
    if not rows:
        session_get(organization=organization, session_id=session_id)
        raise GroupNotFound()
    return rows[0]


@dataclass(frozen=True)
class _RowsStatement:
    sql: str
    names: tuple[str, ...]
    # SQLite hands booleans back as 0 and 1; the answer says true and false.
    booleans: tuple[str, ...]

    def rows(self, parameters: list[Any]) -> list[dict[str, Any]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, parameters)
            found = cursor.fetchall()
        rows = [dict(zip(self.names, values, strict=True)) for values in found]
        if connection.vendor == "sqlite":
            for row in rows:
                for name in self.booleans:
                    row[name] = bool(row[name])
        return rows


@functools.cache
def _group_rows_statement(
    fields: tuple[str, ...], conditions: tuple[tuple[str, str], ...], ascending: bool | None
) -> _RowsStatement:
    """``SELECT id, <fields>`` of one session's groups, each condition ``(field,
    operator)`` adding ``AND field operator %s``; in id order and paged (``LIMIT %s OFFSET
    %s``) unless ``ascending`` is None. Parameters: the session id, one per condition, then
    limit and offset. Table and column names come from the model, so the statement follows
    a rename; every value is a parameter."""
    group_fields = [_concrete_field(Group, name) for name in ("id", *fields)]
    key = _column("id")
    session_column = _column("session")
    sql = (
        f"SELECT {', '.join(_column(field.name) for field in group_fields)}"  # noqa: S608
        f" FROM {Group._meta.db_table} WHERE {session_column} = %s"
    )
    for name, operator in conditions:
        if operator not in ("=", "<", ">"):
            raise ValueError(f"unexpected operator {operator!r}")
        sql += f" AND {_column(name)} {operator} %s"
    if ascending is not None:
        sql += f" ORDER BY {key} {'ASC' if ascending else 'DESC'} LIMIT %s OFFSET %s"
    return _RowsStatement(
        sql=sql,
        names=tuple(field.name for field in group_fields),
        booleans=tuple(
            field.name for field in group_fields if isinstance(field, models.BooleanField)
        ),
    )


def _column(name: str) -> str:
    column = _concrete_field(Group, name).column
    if not column:
        raise TypeError(f"Group.{name} has no column")
    return column


def _concrete_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


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

"""Cursor pagination for every list endpoint:
``{"next", "previous", "nextCursor", "previousCursor", "results"}``.

``next``/``previous`` are links to follow; ``nextCursor``/``previousCursor`` are the same
pages' ``cursor`` values, for a client that calls the operation with its own parameters
(a generated client): each is null when there is no such page."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response

from gateway.errors import QueryParameterInvalid

_BIGINT = range(-(2**63), 2**63)

Row = dict[str, Any]


@dataclass(frozen=True)
class KeysetWindow:
    """The rows one page of a list needs, for a list ordered by a unique integer ``id``,
    newest (highest) first.

    Rows have ids below ``position`` (all rows when it is None), highest first; or, when
    ``ascending`` (a "previous" link walking back toward newer rows), ids above it,
    lowest first. The first ``offset`` of them are skipped (DRF's cursors may carry an
    offset; ours never do), and at most ``limit`` are read.
    """

    position: int | None
    ascending: bool
    offset: int
    limit: int


class GatewayCursorPagination(CursorPagination):
    """``?limit=`` (default 50, at most 200) and an opaque ``?cursor=``; newest first.

    A cursor is base64 of DRF's ``o=…&r=…&p=…``: anyone can craft one. Its position must
    be a value of the ordering field (an id in range, an aware date-time) or the answer
    is 400 ``invalid cursor`` — before any query, so nothing reaches the database (or the
    logs) that the database would choke on.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any] | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def paginate_window(
        self, read: Callable[[KeysetWindow], list[Row]], request: Any, model: Any
    ) -> list[Row]:
        """A page of ``model`` rows read by ``read`` instead of from a queryset: the same
        cursors, links and answers as ``paginate_queryset`` for a queryset ordered by
        ``-id``. For a hot list whose selector issues its own SQL (see the caller)."""
        if self.ordering != "-id":
            raise TypeError("paginate_window pages by -id only")
        self._model = model
        self.request = request
        page_size = self.page_size = self.get_page_size(request) or self.page_size
        self.base_url = request.build_absolute_uri()
        self.ordering = ("-id",)  # type: ignore[assignment]  # as DRF's get_ordering sets it
        self.cursor = self.decode_cursor(request)
        offset, reverse, position = self.cursor if self.cursor else (0, False, None)
        here = None if position is None else str(position)
        rows = read(
            KeysetWindow(
                position=None if position is None else int(position),
                ascending=reverse,
                offset=offset,
                limit=page_size + 1,
            )
        )
        # The row after the page, if any, says there is more in the direction read.
        beyond = str(rows[page_size]["id"]) if len(rows) > page_size else None
        self.page = rows[:page_size]
        came_from_somewhere = here is not None or offset > 0
        if reverse:
            self.page.reverse()
            self.has_next, self.next_position = came_from_somewhere, here
            self.has_previous, self.previous_position = beyond is not None, beyond
        else:
            self.has_next, self.next_position = beyond is not None, beyond
            self.has_previous, self.previous_position = came_from_somewhere, here
        return self.page

    def get_paginated_response(self, data: Any) -> Response:
        next_link, previous_link = self.get_next_link(), self.get_previous_link()
        return Response(
            {
                "next": next_link,
                "previous": previous_link,
                "nextCursor": _cursor_of(next_link),
                "previousCursor": _cursor_of(previous_link),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        page = super().get_paginated_response_schema(schema)
        properties = page["properties"]
        cursor = {"type": "string", "nullable": True, "example": "cD0yMDI2LTExLTI4"}
        page["properties"] = {
            "next": properties["next"],
            "previous": properties["previous"],
            "nextCursor": {
                **cursor,
                "description": "The next page's `cursor` (null on the last page).",
            },
            "previousCursor": {
                **cursor,
                "description": "The previous page's `cursor` (null on the first page).",
            },
            "results": properties["results"],
        }
        page["required"] = ["next", "previous", "nextCursor", "previousCursor", "results"]
        return page

    def decode_cursor(self, request: Any) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except Exception as exc:  # DRF answers a bad cursor with 404; it is bad input
            raise self._invalid() from exc
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: object) -> None:
        ordering = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        field = self._model._meta.get_field(ordering.lstrip("-"))
        try:
            value = field.to_python(position)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            raise self._invalid() from exc
        if isinstance(value, int) and value not in _BIGINT:
            raise self._invalid()
        if isinstance(value, datetime) and value.tzinfo is None:
            raise self._invalid()

    @staticmethod
    def _invalid() -> ValidationError:
        return QueryParameterInvalid({"cursor": ["invalid cursor"]})


def _cursor_of(link: str | None) -> str | None:
    if link is None:
        return None
    values = parse_qs(urlparse(link).query).get("cursor")
    return values[0] if values else None


class NewestFirstPagination(GatewayCursorPagination):
    ordering = "-created_at"

"""Cursor pagination for every list endpoint: ``{"next", "previous", "results"}``."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination

from gateway.errors import QueryParameterInvalid

_BIGINT = range(-(2**63), 2**63)


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


class NewestFirstPagination(GatewayCursorPagination):
    ordering = "-created_at"

"""Cursor pagination for every list endpoint: ``{"next", "previous", "results"}``."""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination


class GatewayCursorPagination(CursorPagination):
    """``?limit=`` (default 50, at most 200) and an opaque ``?cursor=``; newest first."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request: Any) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF answers a bad cursor with 404; it is bad input
            raise ValidationError({"cursor": ["invalid cursor"]}) from exc


class NewestFirstPagination(GatewayCursorPagination):
    ordering = "-created_at"

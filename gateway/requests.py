"""Helpers for reading API requests."""

from typing import Any

from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request


def json_body(request: Request) -> Any:
    """The parsed JSON body (``{}`` when there is none).

    DRF treats a body sent without any Content-Type as empty; the gateway refuses it
    instead (415), so a client that forgot the header learns why, rather than being
    told its fields are missing.
    """
    has_body = request.META.get("CONTENT_LENGTH") not in (None, "", "0") or (
        "HTTP_TRANSFER_ENCODING" in request.META
    )
    if has_body and not request.content_type:
        raise UnsupportedMediaType("", detail="request body must be application/json")
    return request.data

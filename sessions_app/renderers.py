"""Renderers for the pairing QR as an image (the view hands them finished bytes)."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class _BytesRenderer(BaseRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data if isinstance(data, bytes) else b""


class SvgRenderer(_BytesRenderer):
    media_type = "image/svg+xml"
    format = "svg"
    charset = None


class PngRenderer(_BytesRenderer):
    media_type = "image/png"
    format = "png"
    charset = None


class PngAsBytesRenderer(_BytesRenderer):
    """The PNG for a client that asks for ``application/octet-stream`` (generated clients
    handle no image types): the same bytes, under the same ``?format=png``."""

    media_type = "application/octet-stream"
    format = "png"
    charset = None

"""The API's JSON body parser."""

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class GatewayJSONParser(JSONParser):
    """DRF's strict JSON parser (no NaN or Infinity), where nesting deeper than the
    interpreter's recursion limit (``[[[[…]]]]`` 10,000 deep fits in a few KB) is a 400,
    not a RecursionError: the C decoder gives up at that depth at once, so it costs
    nothing to refuse."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc

"""Log formatting: one JSON object per line, each with the request id.

Nothing here ever formats a request's headers or body, so API keys and tokens (which
travel only in the Authorization header) cannot reach the logs. A client that puts one in
the query string anyway (``?access_token=…``, ``?token=…``, ``?key=…``) would have it
written by the access log: ``RedactSecretsFilter`` replaces those values in every line.
"""

import json
import logging
import re
from datetime import UTC, datetime

from gateway.request_context import request_id

_SECRET_QUERY_VALUE = re.compile(
    r"(?P<name>(?:^|[?&;\s\"'])(?:access_token|token|key|api_key|apikey|jwt)=)[^&;\s\"']*",
    flags=re.IGNORECASE,
)
# Anything shaped like one of our API keys, wherever it appears.
_API_KEY = re.compile(r"wag_[0-9A-Za-z]{12}_[0-9A-Za-z]{20,}")


def redact(text: str) -> str:
    text = _SECRET_QUERY_VALUE.sub(r"\g<name>[redacted]", text)
    return _API_KEY.sub("wag_[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites the record's message with secret query values and key-shaped strings
    redacted (the message is formatted here, once; its arguments are dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

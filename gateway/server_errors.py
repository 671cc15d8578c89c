"""The API's error envelope for errors a server writes before Django sees the request: a
request line or header over the limit (431), a malformed request line (400). Python's
``http.server`` (the development server, the runner) and gunicorn write HTML there;
these write the envelope instead."""

import json
from typing import Any

# Imports nothing of Django: gunicorn.conf.py loads this before any app exists.
CONTENT_TYPE = "application/json"


def envelope_body(status: int, message: str, explain: str = "") -> bytes:
    code = "payload_too_large" if status == 413 else "validation_error"
    details = {"status": status, **({"explain": explain} if explain else {})}
    error = {"code": code, "message": message or "bad request", "details": details}
    return json.dumps({"error": error}).encode()


def send_error_as_envelope(
    handler: Any, code: int, message: str | None = None, explain: str | None = None
) -> None:
    """Replaces ``BaseHTTPRequestHandler.send_error``: same status and logging, JSON body."""
    short, long = handler.responses.get(code, ("error", ""))
    message = message or short
    handler.log_error("code %d, message %s", code, message)
    handler.send_response(code, message)
    handler.send_header("Connection", "close")
    body = envelope_body(code, message, explain or long)
    handler.send_header("Content-Type", CONTENT_TYPE)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def write_gunicorn_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Replaces ``gunicorn.util.write_error`` (see gunicorn.conf.py)."""
    from gunicorn.util import write_nonblock

    body = envelope_body(status_int, reason, mesg)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    write_nonblock(sock, head.encode("latin1") + body)

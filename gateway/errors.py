"""The one place that turns exceptions into the API's error envelope.

Every non-2xx response under ``/api/`` has the body
``{"error": {"code": ..., "message": ..., "details": {...}}}``. DRF views reach
``api_exception_handler``; anything that escapes DRF (unknown URLs, middleware errors,
Django's own 400/413 pages) is rewritten by ``gateway.middleware``.
"""

import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from gateway.exceptions import GatewayError

logger = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    # A request the gateway cannot take at all, before any input is read (e.g. a Host
    # header not in ALLOWED_HOSTS).
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "conflict": 409,
    "idempotency_in_progress": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "not_implemented": 501,
    "whatsapp_error": 502,
    "runner_unavailable": 503,
    "database_unavailable": 503,
    "whatsapp_timeout": 504,
}

# The error codes, as the schema names them (ErrorCode).
ERROR_CODES = sorted(STATUS_BY_CODE)

# For responses built outside DRF, where only the status is known.
CODE_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("validation_error", "bad request"),
    401: ("unauthorized", "authentication required"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "no such endpoint"),
    405: ("method_not_allowed", "method not allowed"),
    406: ("not_acceptable", "cannot produce a response in the requested format"),
    413: ("payload_too_large", "request body is too large"),
    415: ("unsupported_media_type", "request body must be application/json"),
    429: ("rate_limited", "too many requests"),
    500: ("internal_error", "internal error"),
    503: ("database_unavailable", "service unavailable; retry later"),
}


class QueryParameterInvalid(drf.ValidationError):
    """A query parameter (cursor, format, …) that cannot be used: 400, said as such."""


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error(status: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    default_code, default_message = CODE_BY_STATUS.get(
        status, ("internal_error" if status >= 500 else "validation_error", "request failed")
    )
    response = JsonResponse(
        envelope(code or default_code, message or default_message),
        status=status,
        json_dumps_params={"separators": (",", ":")},  # compact, as DRF renders
    )
    if status < 500:
        response._has_been_logged = True  # type: ignore[attr-defined]  # see below
    return response


def _as_details(detail: Any) -> dict[str, Any]:
    """Validation details are always an object mapping fields to messages."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    return {"body": _plain(detail) if isinstance(detail, list) else [str(detail)]}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value)


def _classify(exc: Exception) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """Returns (code, message, details, extra headers) for an exception."""
    headers: dict[str, str] = {}
    if isinstance(exc, GatewayError):
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        code = exc.code if exc.code in STATUS_BY_CODE else "internal_error"
        return code, exc.message, exc.details, headers
    if isinstance(exc, QueryParameterInvalid):
        return "validation_error", "query parameter is invalid", _as_details(exc.detail), headers
    if isinstance(exc, drf.ValidationError):
        return "validation_error", "request body is invalid", _as_details(exc.detail), headers
    if isinstance(exc, drf.ParseError):
        return "validation_error", str(exc.detail), {}, headers
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        message = (
            "missing bearer token: send 'Authorization: Bearer <token>'"
            if isinstance(exc, drf.NotAuthenticated)
            else str(exc.detail)
        )
        return "unauthorized", message, {}, headers
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        details = dict(getattr(exc, "details", {}) or {})
        message = str(getattr(exc, "detail", "")) or "forbidden"
        return "forbidden", message, details, headers
    if isinstance(exc, drf.NotFound | Http404):
        return "not_found", "not found", {}, headers
    if isinstance(exc, drf.MethodNotAllowed):
        named = re.search(r'"([A-Z]+)"', str(exc.detail))  # DRF's 'Method "PUT" not allowed.'
        method = named.group(1) if named else "this method"
        return "method_not_allowed", f"method {method} is not allowed here", {}, headers
    if isinstance(exc, drf.NotAcceptable):
        return "not_acceptable", "cannot produce a response in the requested format", {}, headers
    if isinstance(exc, drf.UnsupportedMediaType):
        return "unsupported_media_type", "request body must be application/json", {}, headers
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return "payload_too_large", "request body is too large", {"maxBytes": limit}, headers
    if isinstance(exc, drf.Throttled):
        wait = int(getattr(exc, "wait", None) or 1)
        headers["Retry-After"] = str(max(wait, 1))
        return "rate_limited", "too many requests", {"retryAfter": max(wait, 1)}, headers
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return "database_unavailable", "the database cannot be reached; retry later", {}, headers
    logger.exception("unhandled error in API view")
    return "internal_error", "internal error", {}, headers


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    code, message, details, headers = _classify(exc)
    request = context.get("request")
    if request is not None:
        # Errors are JSON even where the endpoint also renders images.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    set_rollback()
    response = Response(
        envelope(code, message, details), status=STATUS_BY_CODE[code], headers=headers
    )
    if response.status_code < 500:
        # A client's mistake: the access log's line for the request is the one line it
        # gets (Django would add its own warning; refused tokens are logged by
        # gateway.throttling once per address per window). Server errors stay logged.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response

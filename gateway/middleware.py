"""Keeps every response under /api/ in the error envelope, whatever produced it."""

import logging
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from gateway.errors import json_error

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ApiErrorEnvelopeMiddleware:
    """Rewrites non-JSON error responses under /api/ into the envelope.

    DRF views already answer in the envelope; this catches what happens around them:
    Django's 404 for unknown URLs, its 400 for a bad Host header or an oversized body,
    and a 500 (even with DEBUG on, no traceback page is ever returned under /api/).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 400 and not _host_allowed(request):
            rewritten = json_error(400, "bad_request", "host not allowed")
        else:
            rewritten = json_error(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                rewritten[header] = response[header]
        if response.status_code < 500:
            rewritten._has_been_logged = True  # type: ignore[attr-defined]
        return rewritten

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        logger.exception("unhandled error under /api/")
        return json_error(500)


def _host_allowed(request: HttpRequest) -> bool:
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True


class HealthzForAnyHost:
    """``/healthz`` answers whatever the Host header says: a load balancer probes a node
    by its address, which is rarely among ALLOWED_HOSTS. It says only that the process
    serves (no data, no database), so answering it for any host gives nothing away."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            from gateway.views import healthz

            return healthz(request)
        return self.get_response(request)


class LargeBodyRoutes:
    """Routes whose bodies may exceed ``GATEWAY_MAX_BODY_BYTES``: a group picture is a
    JPEG of up to 1 MiB sent as base64 (a third larger), and a message may carry media
    up to its kind's limit (``GATEWAY_MEDIA_MAX_*_BYTES``). Their body is read here, up
    to their own limit (413 past it, in the envelope), before Django's general check."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from groups_app.rules import PICTURE_MAX_BYTES
        from messages_app.rules import largest_media

        self.get_response = get_response
        self.limits = (
            (("/picture", "/picture/"), (PICTURE_MAX_BYTES + 2) // 3 * 4 + 4096),
            (("/messages", "/messages/"), (largest_media() + 2) // 3 * 4 + 64 * 1024),
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX) or request.method not in ("POST", "PUT"):
            return self.get_response(request)
        for suffixes, limit in self.limits:
            if request.path.endswith(suffixes):
                return self._read(request, limit)
        return self.get_response(request)

    def _read(self, request: HttpRequest, limit: int) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return json_error(413, message=f"request body is over {limit} bytes")
        request._body = request.read(limit + 1)
        if len(request._body) > limit:
            return json_error(413, message=f"request body is over {limit} bytes")
        return self.get_response(request)

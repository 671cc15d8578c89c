"""Endpoints of the gateway itself: health and the /api/ catch-all."""

import hmac

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from gateway import http
from gateway.errors import json_error


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The process can do useful work: its database and the session runner answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return json_error(503, "database_unavailable", "the database cannot be reached")
    if not settings.GATEWAY_RUNNER_IN_PROCESS:
        try:
            http.get_json(f"{settings.GATEWAY_RUNNER_URL.rstrip('/')}/healthz", timeout=1)
        except http.OutboundError:
            return json_error(503, "runner_unavailable", "the session runner cannot be reached")
    return JsonResponse({"status": "ok", "database": "ok", "runner": "ok"})


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format (``gateway.metrics``): only with ``GATEWAY_METRICS_TOKEN``
    set, to ``Authorization: Bearer <that token>``."""
    expected = settings.GATEWAY_METRICS_TOKEN
    if not expected:
        return json_error(404, "not_found", "metrics are off (set GATEWAY_METRICS_TOKEN)")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        response = json_error(401, "unauthorized", "a valid metrics token is required")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from gateway.metrics import web_registry

    return HttpResponse(generate_latest(web_registry()), content_type=CONTENT_TYPE_LATEST)


@csrf_exempt  # any method: an unknown URL is 404, never a CSRF 403 (nothing changes here)
def api_not_found(request: HttpRequest) -> JsonResponse:
    return json_error(404, "not_found", f"no endpoint at {request.path}")

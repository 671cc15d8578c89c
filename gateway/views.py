"""Endpoints of the gateway itself: health and the /api/ catch-all."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
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


@csrf_exempt  # any method: an unknown URL is 404, never a CSRF 403 (nothing changes here)
def api_not_found(request: HttpRequest) -> JsonResponse:
    return json_error(404, "not_found", f"no endpoint at {request.path}")

"""Endpoints of the gateway itself: health and the /api/ catch-all."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from gateway.errors import json_error


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The process can do useful work: its database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return json_error(503, "database_unavailable", "the database cannot be reached")
    return JsonResponse({"status": "ok", "database": "ok"})


def api_not_found(request: HttpRequest) -> JsonResponse:
    return json_error(404, "not_found", f"no endpoint at {request.path}")

"""Endpoints of the gateway itself: health and the /api/ catch-all."""

import hmac
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from gateway.errors import json_error


def landing(request: HttpRequest) -> HttpResponse:
    """``/`` (and the admin's "View site"): where the API docs, the schema and the admin are."""
    from gateway.version import VERSION

    return render(request, "gateway/landing.html", {"version": VERSION})


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """This web node can serve: its database answers (else 503 ``database_unavailable``).

    The session runners' state is reported in the body (``runner``: ``ok`` when a runner
    renewed its leases within a lease's length, else ``unavailable``) and in the metrics,
    never as this node's failure: reads and everything but live actions still work
    without a runner, and a load balancer that took every web node out for it would
    take those down too."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        runner = "ok" if _a_runner_is_alive() else "unavailable"
    except DatabaseError:
        return json_error(503, "database_unavailable", "the database cannot be reached")
    return JsonResponse({"status": "ok", "database": "ok", "runner": runner})


def _a_runner_is_alive() -> bool:
    if settings.GATEWAY_RUNNER_IN_PROCESS:
        return True
    from sessions_app.models import Runner

    fresh = timezone.now() - timedelta(seconds=settings.GATEWAY_RUNNER_LEASE_SECONDS)
    return Runner.objects.filter(heartbeat_at__gte=fresh).exists()


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

"""Prometheus metrics: what each process counts, and how they are exposed.

- **Web processes** count HTTP requests (by route pattern, method and status, with a
  latency histogram) and live calls (by action and outcome, with latency). Under gunicorn
  set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder the web's workers share;
  ``gunicorn.conf.py`` clears it at start and tells the library when a worker exits), so
  ``GET /metrics`` adds up every worker. What the database knows — sessions by status,
  leases held per runner, runner heartbeats, webhook deliveries by status, the queue's
  depth and oldest age, send budget used — is read at scrape time
  (``gateway.metrics_state``), so any one web node's ``/metrics`` tells the whole story.
- **The runner and the delivery worker** count what only they see (session workers
  running and restarted; webhook attempts and their latency) and serve them on their own
  port when ``GATEWAY_RUNNER_METRICS_LISTEN`` / ``GATEWAY_WEBHOOK_METRICS_LISTEN``
  (``HOST:PORT``) is set: bind it to an operator network; it serves nothing else. Give
  ``PROMETHEUS_MULTIPROC_DIR`` to the web only: in a process that has it, counts go to
  that folder instead of the process's own port.

``GET /metrics`` on the web answers only with ``GATEWAY_METRICS_TOKEN`` set, to
``Authorization: Bearer <token>`` (404 without the setting, 401 with a wrong token).
"""

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# Request latency buckets (seconds): from a cached read to the longest live call (90 s).
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 90)

HTTP_REQUESTS = Counter(
    "gateway_http_requests",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "gateway_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=_LATENCY,
)
LIVE_CALLS = Counter(
    "gateway_live_calls",
    "Live actions (calls that reach WhatsApp through a runner), by action and outcome "
    "(succeeded, failed, unknown).",
    ["action", "outcome"],
)
LIVE_LATENCY = Histogram(
    "gateway_live_call_duration_seconds",
    "Time a live action took, by action.",
    ["action"],
    buckets=_LATENCY,
)
# The runner's own.
WORKERS_RUNNING = Gauge(
    "gateway_runner_sessions_running",
    "Sessions this runner runs now (one session worker process each for whatsapp).",
    multiprocess_mode="livesum",
)
WORKER_RESTARTS = Counter(
    "gateway_runner_session_restarts",
    "Session connections that ended and are retried with backoff (worker restarts).",
)
# The delivery worker's own.
WEBHOOK_ATTEMPTS = Counter(
    "gateway_webhook_attempts",
    "Webhook delivery attempts, by result (succeeded, failed).",
    ["result"],
)
WEBHOOK_ATTEMPT_LATENCY = Histogram(
    "gateway_webhook_attempt_duration_seconds",
    "Time one delivery attempt took (connect to the end of the answer's head and body cap).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def web_registry() -> CollectorRegistry:
    """The registry ``/metrics`` serves: every gunicorn worker's counts (multiprocess
    mode) or this process's, plus what the database says."""
    from gateway.metrics_state import StateCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        for collector in (HTTP_REQUESTS, HTTP_LATENCY, LIVE_CALLS, LIVE_LATENCY):
            registry.register(collector)
    registry.register(StateCollector())
    return registry


def serve_own_metrics(setting_value: str, what: str) -> None:
    """Serves this process's metrics on ``HOST:PORT`` (the runner, the delivery worker)."""
    if not setting_value:
        return
    host, _, port = setting_value.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1")
    logger.info("%s: metrics on http://%s/metrics", what, setting_value)


class RequestMetricsMiddleware:
    """Counts every answer by route pattern (``/api/v1/sessions/<str:session>``, never the
    raw path: one series per route, whatever the ids), method and status."""

    def __init__(self, get_response: Callable[["HttpRequest"], "HttpResponse"]) -> None:
        self.get_response = get_response

    def __call__(self, request: "HttpRequest") -> "HttpResponse":
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _route(request: "HttpRequest") -> str:
    """The URL pattern that serves the path (also for answers given before URL
    resolution, e.g. /healthz), or "unmatched"."""
    from django.urls import Resolver404, resolve

    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return f"/{match.route}" if match.route else "unmatched"

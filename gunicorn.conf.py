"""gunicorn settings for the gateway's web process (gunicorn reads ./gunicorn.conf.py
itself): ``gunicorn gateway.wsgi`` is the whole production command.

- **Workers and threads.** ``gthread`` workers (``WEB_CONCURRENCY`` processes, default 4,
  each with ``GATEWAY_WEB_THREADS`` threads, default 8). An idle kept-alive connection, or
  one that has sent nothing yet, waits in the worker's poller and holds no thread; a
  client trickling its request does hold one until it finishes, so without a buffering
  proxy ``workers x threads`` such clients can still hold the web tier: production runs
  behind ``deploy/nginx.conf``, which reads whole requests before passing them on.
- **Time.** ``timeout`` (the worker's heartbeat, 30 s) is not a request limit with
  threads; ``graceful_timeout`` (100 s) outlasts the longest live call (90 s), so a
  restart lets calls in flight finish; ``keepalive`` 5 s (longer than nginx's upstream
  ``keepalive_timeout``, 4 s, so that nginx always lets go first).
- **Errors** gunicorn answers before the app sees a request (an over-long request line or
  header: 400/431) use the API's JSON error envelope, not an HTML page.
- **The access log** goes to stdout (``GATEWAY_WEB_ACCESS_LOG``: a file path, or ``-``;
  ``off`` for none), one JSON object per request with the application's keys (``time``,
  ``level``, ``logger`` = ``gunicorn.access``, ``message``, ``request_id``) and ``method``,
  ``path``, ``status``, ``bytes``, ``duration_ms``, ``remote``, ``user_agent``. It
  redacts secret query values (``?access_token=``, ``?token=``, ``?key=``) and anything
  shaped like an API key: a client that sends one there must not have it written to disk.
- **Metrics** (``gateway.metrics``): with ``PROMETHEUS_MULTIPROC_DIR`` set, the folder is
  emptied when gunicorn starts and each exiting worker's files are retired, so
  ``/metrics`` adds up the live workers.

Each worker thread keeps its own database connection: a web node opens up to
``WEB_CONCURRENCY x GATEWAY_WEB_THREADS`` (32 by default). Command-line options (``-b``,
``-w``, ``--threads``) override these.
"""

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gunicorn import glogging, util

from gateway.logging import redact
from gateway.server_errors import write_gunicorn_error

util.write_error = write_gunicorn_error

bind = os.environ.get("GATEWAY_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_WEB_THREADS", "8"))
# Connections a worker holds at once (kept-alive ones included); beyond it, the backlog.
worker_connections = 200
backlog = 2048
timeout = 30
graceful_timeout = 100
keepalive = 5
# The request line and each header (431 beyond; JWTs fit), at most 100 headers.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100


_ACCESS_LOG = os.environ.get("GATEWAY_WEB_ACCESS_LOG", "-")
accesslog = None if _ACCESS_LOG == "off" else _ACCESS_LOG


class RedactingLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(v) if isinstance(v, str) else v for name, v in atoms.items()}

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        """One JSON line per request, in the application's own shape."""
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        path = atoms.get("U", "")
        query = atoms.get("q", "")
        line = {
            "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{atoms.get('m', '-')} {path} {atoms.get('s', '-')}",
            "request_id": headers.get("x-request-id", "-"),
            "method": atoms.get("m", "-"),
            "path": redact(f"{path}?{query}" if query else path),
            "status": resp.status_code if hasattr(resp, "status_code") else atoms.get("s"),
            "bytes": getattr(resp, "sent", 0),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": atoms.get("h", "-"),
            "user_agent": atoms.get("a", "-"),
        }
        self.access_log.info("%s", json.dumps(line, ensure_ascii=False))


def on_starting(server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, mode=0o700, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


logger_class = RedactingLogger

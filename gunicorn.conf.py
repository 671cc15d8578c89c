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
- **The access log** redacts secret query values (``?access_token=``, ``?token=``,
  ``?key=``) and anything shaped like an API key: a client that sends one there must not
  have it written to disk.

Each worker thread keeps its own database connection: a web node opens up to
``WEB_CONCURRENCY x GATEWAY_WEB_THREADS`` (32 by default). Command-line options (``-b``,
``-w``, ``--threads``) override these.
"""

import os
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


class RedactingLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(v) if isinstance(v, str) else v for name, v in atoms.items()}


logger_class = RedactingLogger

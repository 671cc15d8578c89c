"""gunicorn settings the gateway relies on (gunicorn reads ./gunicorn.conf.py itself).

- Errors gunicorn answers before the app sees a request (an over-long request line or
  header: 400/431) use the API's JSON error envelope, not an HTML page.
- The access log redacts secret query values (``?access_token=``, ``?token=``, ``?key=``)
  and anything shaped like an API key: a client that sends one there must not have it
  written to disk.

Bind address, workers and the rest stay on the command line (README, "Production").
"""

from typing import Any

from gunicorn import glogging, util

from gateway.logging import redact
from gateway.server_errors import write_gunicorn_error

util.write_error = write_gunicorn_error


class RedactingLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(v) if isinstance(v, str) else v for name, v in atoms.items()}


logger_class = RedactingLogger

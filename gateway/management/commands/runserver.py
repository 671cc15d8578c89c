"""Django's development server (with static files), refused off loopback with DEBUG.

It also answers the server's own protocol errors (an over-long or too many request
headers: 431) in the API's JSON error envelope instead of an HTML page.
"""

from typing import Any

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.core.management.base import CommandError
from django.core.servers import basehttp

from gateway.debug import refuse_public_debug
from gateway.server_errors import send_error_as_envelope


class _EnvelopeErrorsHandler(basehttp.WSGIRequestHandler):
    send_error = send_error_as_envelope


class _Server(basehttp.WSGIServer):
    """The development server, with the handler above (``basehttp.run`` passes its own)."""

    def __init__(self, address: Any, handler: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(address, _EnvelopeErrorsHandler, *args, **kwargs)


class Command(StaticRunserver):
    server_cls = _Server

    def run(self, **options: Any) -> None:
        problem = refuse_public_debug(getattr(self, "addr", ""), "the development server")
        if problem:
            raise CommandError(problem)
        super().run(**options)

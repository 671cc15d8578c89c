"""A request id on every log line and in every response (``X-Request-Id``).

An incoming ``X-Request-Id`` (from a proxy) is kept when it looks like an id; otherwise
one is made. The web process passes it on to the runner, so one id follows a live action
across both processes' logs.
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-Id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id: ContextVar[str] = ContextVar("request_id", default="-")


def accept_or_make(incoming: str | None) -> str:
    return incoming if incoming and _VALID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accept_or_make(request.headers.get(HEADER))
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = rid
        return response

"""The gateway's URLs plus views that fail on purpose, for the error-envelope tests."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.urls import urlpatterns as gateway_urlpatterns

LEAK = "do-not-leak-this-detail"


class _Open(APIView):
    authentication_classes = []
    permission_classes = []


class DrfBoom(_Open):
    def get(self, request: Request) -> Response:
        raise RuntimeError(LEAK)


class DatabaseDown(_Open):
    def get(self, request: Request) -> Response:
        raise OperationalError(f"connection refused {LEAK}")


def plain_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(LEAK)


urlpatterns = [
    path("api/v1/test/drf-boom", DrfBoom.as_view()),
    path("api/v1/test/database-down", DatabaseDown.as_view()),
    path("api/v1/test/plain-boom", plain_boom),
    *gateway_urlpatterns,
]

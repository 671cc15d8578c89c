"""What ``OPTIONS`` answers on every API path: the methods the path allows.

The ``Allow`` header of every API response lists them (OPTIONS included); an ``OPTIONS``
request answers 200 with the same list in the body, and where the whole description
is (the OpenAPI document). It is authenticated like every other request: fields and
validation are described by the schema, not here."""

from typing import Any

from django.urls import reverse
from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request


class AllowedMethods(BaseMetadata):
    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        return {"methods": list(view.allowed_methods), "schema": reverse("schema")}

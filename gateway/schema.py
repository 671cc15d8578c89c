"""OpenAPI pieces shared by every endpoint: the error envelope and its responses."""

import re
from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from gateway.errors import STATUS_BY_CODE

ErrorEnvelope = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "error": inline_serializer(
            name="Error",
            fields={
                "code": serializers.ChoiceField(choices=sorted(STATUS_BY_CODE)),
                "message": serializers.CharField(),
                "details": serializers.DictField(child=serializers.JSONField()),
            },
        )
    },
)

# status: (code, when it happens, an example message)
_DESCRIPTIONS: dict[int, tuple[str, str, str]] = {
    400: (
        "validation_error",
        "The body is missing, not JSON, or breaks a rule; details name each field.",
        "request body is invalid",
    ),
    401: ("unauthorized", "No token, or a token that cannot be accepted.", "invalid API key"),
    403: (
        "forbidden",
        "The token lacks the capability this endpoint requires; details.required names it.",
        "this action requires the 'send' capability",
    ),
    404: (
        "not_found",
        "No such session (or group) in your organization.",
        "session not found",
    ),
    409: (
        "conflict",
        "The session is not in a state for this action (e.g. QR asked while not pairing), "
        "or idempotency_in_progress: a request with this Idempotency-Key is still running.",
        "no pairing QR: the session is not pairing",
    ),
    422: (
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request.",
        "this Idempotency-Key was used with a different request",
    ),
    413: ("payload_too_large", "The body is over the size limit.", "request body is too large"),
    415: (
        "unsupported_media_type",
        "The body is not application/json.",
        "request body must be application/json",
    ),
    429: (
        "rate_limited",
        "Too many requests (ours or WhatsApp's); see Retry-After.",
        "WhatsApp rate limit reached; retry later",
    ),
    501: ("not_implemented", "The session is not connected.", "session is not connected"),
    502: (
        "whatsapp_error",
        "WhatsApp refused or failed the action; details carry its reason.",
        "WhatsApp refused or failed the action",
    ),
    503: (
        "runner_unavailable",
        "The session runner (or the database: database_unavailable) cannot be reached.",
        "the session runner cannot be reached",
    ),
    504: (
        "whatsapp_timeout",
        "WhatsApp did not answer in time; the outcome is unknown.",
        "WhatsApp did not answer in time; the outcome is unknown",
    ),
}


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe for 24 hours: the same key with the same request replays the "
        "first answer (with `Idempotent-Replayed: true`) instead of acting again; with a "
        "different request, 422; while the first still runs, 409. 1 to 255 visible ASCII "
        "characters, scoped to your organization."
    ),
)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    responses = {}
    for status in statuses:
        code, description, message = _DESCRIPTIONS[status]
        responses[status] = OpenApiResponse(
            response=ErrorEnvelope,
            description=description,
            examples=[
                OpenApiExample(
                    code,
                    value={"error": {"code": code, "message": message, "details": {}}},
                    response_only=True,
                    status_codes=[str(status)],
                )
            ],
        )
    return responses


def drop_trailing_slash_aliases(
    endpoints: list[tuple[Any, ...]], **kwargs: object
) -> list[tuple[Any, ...]]:
    """Routes accept an optional trailing slash; the schema lists each path once, without."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


NO_NUL_PATTERN = r"^[^\u0000]*$"
# Required text: not only whitespace either (it is trimmed, then must not be empty).
NO_NUL_NOT_BLANK_PATTERN = r"^(?=[^\u0000]*\S)[^\u0000]*$"


def strings_without_nul(result: dict[str, Any], **kwargs: object) -> dict[str, Any]:
    """Request strings may not contain NUL (DRF refuses it; PostgreSQL cannot store it):
    the schema says so, so generated clients and fuzzers agree with the server."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        for prop in component.get("properties", {}).values():
            if prop.get("type") == "string" and "pattern" not in prop and "enum" not in prop:
                blank_refused = prop.get("minLength", 0) >= 1
                prop["pattern"] = NO_NUL_NOT_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN
    return result


_SUCCESS = {
    "200": "Success.",
    "201": "Created.",
    "202": "Accepted: it happens next.",
    "204": "Done; no body.",
}


def describe_successes(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every 2xx response gets a description (generated clients and docs show it)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2") and not response.get("description"):
                    response["description"] = _SUCCESS.get(status, "Success.")
    return result


_PARAMETER = re.compile(r"\{([^}]+)\}")


def page_link_examples(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The `next`/`previous` examples of each paginated list are links of that very list
    (the stock ones point elsewhere and are not valid URIs), so they match `format: uri`."""
    schemas = result.get("components", {}).get("schemas", {})
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            response = operation.get("responses", {}).get("200", {})
            ref = response.get("content", {}).get("application/json", {}).get("schema", {})
            name = ref.get("$ref", "").rpartition("/")[2]
            page = schemas.get(name, {}).get("properties", {})
            if not name.startswith("Paginated") or "next" not in page:
                continue
            link = "https://gateway.example.com" + _PARAMETER.sub(
                lambda match: match.group(1).upper(), path
            )
            page["next"]["example"] = f"{link}?cursor=cD0yMDI2LTExLTI4"
            page["previous"]["example"] = f"{link}?cursor=cj0xJnA9MjAyNi0xMS0yOA"
    return result


def enum_names_on_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A field's ``x-enum-varnames`` (names for generated clients, e.g. ``"*"`` → ``ALL``)
    follows its enum into the component drf-spectacular moved the enum to."""
    schemas = result.get("components", {}).get("schemas", {})

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            names = node.get("x-enum-varnames")
            refs = node.get("allOf") or []
            if names and len(refs) == 1 and "$ref" in refs[0]:
                component = schemas[refs[0]["$ref"].rpartition("/")[2]]
                if len(component.get("enum", [])) == len(names):
                    component["x-enum-varnames"] = node.pop("x-enum-varnames")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def json_errors(*statuses: int) -> dict[tuple[int, str], Any]:
    """Error responses of an endpoint that answers bytes (an image, a file) on success:
    always the JSON envelope."""
    return {
        (status, "application/json"): response
        for status, response in error_responses(*statuses).items()
    }

"""The OpenAPI document at /api/schema/ describes the API exactly."""

import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.validation import validate_schema

GROUPS = "/api/v1/sessions/{session}/groups"
GROUP = "/api/v1/sessions/{session}/groups/{groupJid}"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    validate_schema(document)
    return document


def resolve(schema: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_paths_and_operations(schema):
    operations = {
        (path, method): operation["operationId"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert operations == {
        (GROUPS, "post"): "createGroup",
        (GROUPS, "get"): "listGroups",
        (GROUP, "get"): "getGroup",
        (GROUPS + "/sync", "post"): "syncGroups",
        ("/api/v1/sessions", "get"): "listSessions",
        ("/api/v1/sessions", "post"): "createSession",
        ("/api/v1/sessions/{session}", "get"): "getSession",
        ("/api/v1/sessions/{session}", "delete"): "deleteSession",
        ("/api/v1/sessions/{session}", "patch"): "updateSession",
        ("/api/v1/sessions/{session}/messages", "get"): "listMessages",
        ("/api/v1/sessions/{session}/messages", "post"): "sendMessage",
        ("/api/v1/sessions/{session}/messages/{messageId}/media", "get"): "getMessageMedia",
        ("/api/v1/sessions/{session}/connect", "post"): "connectSession",
        ("/api/v1/sessions/{session}/qr", "get"): "getSessionQr",
        ("/api/v1/sessions/{session}/qr/image", "get"): "getSessionQrImage",
        ("/api/v1/sessions/{session}/pair-code", "post"): "requestPairingCode",
        ("/api/v1/sessions/{session}/logout", "post"): "logoutSession",
        (GROUP, "patch"): "updateGroup",
        (GROUP + "/participants", "get"): "listGroupParticipants",
        (GROUP + "/participants", "post"): "changeGroupParticipants",
        (GROUP + "/invite", "get"): "getGroupInvite",
        (GROUP + "/invite/revoke", "post"): "revokeGroupInvite",
        (GROUP + "/leave", "post"): "leaveGroup",
        (GROUP + "/picture", "put"): "setGroupPicture",
        (GROUP + "/join-requests", "get"): "listGroupJoinRequests",
        (GROUPS + "/join", "post"): "joinGroup",
        (GROUPS + "/invite-info", "get"): "getGroupInviteInfo",
        ("/api/v1/webhooks", "get"): "listWebhooks",
        ("/api/v1/webhooks", "post"): "createWebhook",
        ("/api/v1/webhooks/{id}", "get"): "getWebhook",
        ("/api/v1/webhooks/{id}", "patch"): "updateWebhook",
        ("/api/v1/webhooks/{id}", "delete"): "deleteWebhook",
        ("/api/v1/webhooks/{id}/rotate-secret", "post"): "rotateWebhookSecret",
        ("/api/v1/webhooks/{id}/test", "post"): "testWebhook",
        ("/api/v1/webhooks/{id}/deliveries", "get"): "listWebhookDeliveries",
        ("/api/v1/webhooks/{id}/deliveries/{delivery}", "get"): "getWebhookDelivery",
        ("/api/v1/webhooks/{id}/deliveries/{delivery}/retry", "post"): "retryWebhookDelivery",
    }


def test_operation_ids(schema):
    assert schema["paths"][GROUPS]["post"]["operationId"] == "createGroup"
    assert schema["paths"][GROUPS]["get"]["operationId"] == "listGroups"
    assert schema["paths"][GROUP]["get"]["operationId"] == "getGroup"


def test_bearer_scheme_is_required_everywhere(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        **schema["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path in schema["paths"].values():
        for operation in path.values():
            assert operation["security"] == [{"bearerAuth": []}]


def test_create_request_body(schema):
    body = schema["paths"][GROUPS]["post"]["requestBody"]
    assert body["required"] is True
    request = resolve(schema, body["content"]["application/json"]["schema"])
    assert set(request["properties"]) == {"name", "participants"}
    assert set(request["required"]) == {"name", "participants"}
    assert request["properties"]["name"]["type"] == "string"
    assert request["properties"]["name"]["maxLength"] == 100
    participants = request["properties"]["participants"]
    assert participants["type"] == "array"
    assert participants["items"]["type"] == "string"
    assert "s\\.whatsapp\\.net" in participants["items"]["pattern"]


def test_group_info_is_the_seed_shape(schema):
    created = schema["paths"][GROUPS]["post"]["responses"]["201"]
    info = resolve(schema, created["content"]["application/json"]["schema"])
    types = {name: prop["type"] for name, prop in info["properties"].items()}
    assert types == {
        "description": "string",
        "groupJid": "string",
        "isAnnounce": "boolean",
        "isLocked": "boolean",
        "ownerJid": "string",
        "participants": "integer",
        "subject": "string",
    }
    assert set(info["required"]) == set(types)
    got = schema["paths"][GROUP]["get"]["responses"]["200"]["content"]["application/json"]
    assert resolve(schema, got["schema"]) == info


def test_list_is_a_cursor_page_of_group_info(schema):
    page = resolve(
        schema,
        schema["paths"][GROUPS]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    )
    assert set(page["properties"]) == {
        "next",
        "previous",
        "nextCursor",
        "previousCursor",
        "results",
    }
    parameters = {p["name"] for p in schema["paths"][GROUPS]["get"]["parameters"]}
    assert {"cursor", "limit", "session"} <= parameters


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        (
            GROUPS,
            "post",
            {
                "400",
                "401",
                "403",
                "404",
                "409",
                "413",
                "415",
                "422",
                "429",
                "501",
                "502",
                "503",
                "504",
            },
        ),
        (GROUPS, "get", {"400", "401", "403", "404", "429"}),
        (GROUP, "get", {"401", "403", "404", "429"}),
    ],
)
def test_documented_errors_use_the_envelope(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]
    errors = {status for status in responses if status[0] in "45"}
    assert errors == statuses
    for status in statuses:
        envelope = resolve(schema, responses[status]["content"]["application/json"]["schema"])
        error = resolve(schema, envelope["properties"]["error"])
        assert set(error["required"]) == {"code", "message", "details"}


def test_error_codes_of_the_seed_are_documented(schema):
    codes = resolve(schema, {"$ref": "#/components/schemas/ErrorCode"})["enum"]
    assert {"validation_error", "not_found", "not_implemented", "unauthorized", "forbidden"} <= set(
        codes
    )


def test_schema_generation_has_no_warnings(capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
def test_swagger_ui_is_served_without_a_cdn():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page


def test_live_posts_document_the_idempotency_key(schema):
    live = [
        (GROUPS, "post"),
        (GROUPS + "/sync", "post"),
        ("/api/v1/sessions/{session}/connect", "post"),
        ("/api/v1/sessions/{session}/logout", "post"),
        ("/api/v1/sessions/{session}/pair-code", "post"),
    ]
    for path, method in live:
        operation = schema["paths"][path][method]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"Idempotency-Key"}, path
        assert {"409", "422"} <= set(operation["responses"]), path


def test_names_enums_and_descriptions_a_client_builds_on(schema):
    components = schema["components"]["schemas"]
    assert "GroupCreateRequest" in components and "GroupCreateInputRequest" not in components
    status = schema["components"]["schemas"]["Session"]["properties"]["status"]
    assert "enum" in resolve(schema, status["allOf"][0])
    for item in schema["paths"].values():
        for operation in item.values():
            for code, response in operation["responses"].items():
                if code.startswith("2"):
                    assert response["description"], (operation["operationId"], code)


def test_qr_images_are_binary_not_json(schema):
    content = schema["paths"]["/api/v1/sessions/{session}/qr"]["get"]["responses"]["200"]["content"]
    assert content["image/png"]["schema"] == {"type": "string", "format": "binary"}
    assert content["image/svg+xml"]["schema"] == {"type": "string", "format": "binary"}
    assert content["application/json"]["schema"]["$ref"].endswith("/Qr")

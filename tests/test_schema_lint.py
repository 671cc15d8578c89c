"""The OpenAPI document stays clean under an outside linter's rules (Spectral's `spectral:oas`)
without Node in the toolchain: every example matches the schema it illustrates, the document
names its servers and a contact, and every operation tag is declared with a description.

The walk covers the whole generated document, so operations added later are held to the same
rules without touching this file.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator, FormatChecker

# RFC 3986 characters only; an absolute URI has a scheme and, for http(s), a host.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _URI.match(value):
        return False
    return not value.lower().startswith(("http:", "https:")) or "://" in value


FORMATS = FormatChecker()
FORMATS.checks("uri")(_is_uri)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects to JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: as_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "example", "examples", "readOnly", "writeOnly")
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def validator_for(schema: dict[str, Any], document: dict[str, Any]) -> Draft202012Validator:
    root = dict(as_json_schema(schema))
    root["components"] = {"schemas": as_json_schema(document["components"]["schemas"])}
    return Draft202012Validator(root, format_checker=FORMATS)


def schema_examples(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every schema object carrying an `example`, however deeply nested."""
    if isinstance(node, dict):
        if "example" in node and ("type" in node or "$ref" in node or "allOf" in node):
            yield where, node, node["example"]
        for key, value in node.items():
            yield from schema_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schema_examples(value, f"{where}/{index}")


def media_examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Examples of request bodies, responses and parameters, with the schema they show."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {path}"
            contents = [("requestBody", operation.get("requestBody", {}).get("content", {}))]
            contents += [
                (f"response {status}", response.get("content", {}))
                for status, response in operation.get("responses", {}).items()
            ]
            for label, content in contents:
                for media_type, media in content.items():
                    yield from _examples_of(media, f"{where} {label} {media_type}")
            for parameter in operation.get("parameters", []):
                yield from _examples_of(parameter, f"{where} parameter {parameter['name']}")


def _examples_of(holder: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    schema = holder.get("schema")
    if schema is None:
        return
    if "example" in holder:
        yield where, schema, holder["example"]
    for name, example in holder.get("examples", {}).items():
        if "value" in example:
            yield f"{where} example {name!r}", schema, example["value"]


def mismatches(document: dict[str, Any]) -> list[str]:
    found = []
    examples = list(schema_examples(document["components"], "#/components"))
    examples += list(schema_examples(document["paths"], "#/paths"))
    examples += list(media_examples(document))
    for where, schema, value in examples:
        for error in validator_for(schema, document).iter_errors(value):
            found.append(f"{where}: {error.message}")
    return found


def test_the_walk_finds_examples_of_every_kind(document: dict[str, Any]) -> None:
    schema_level = list(schema_examples(document["components"], "#/components"))
    media_level = list(media_examples(document))
    assert any("PaginatedSessionList" in where for where, _, _ in schema_level)
    assert any("response 4" in where for where, _, _ in media_level)
    assert any("requestBody" in where for where, _, _ in media_level)


def test_every_example_matches_the_schema_it_illustrates(document: dict[str, Any]) -> None:
    assert mismatches(document) == []


def test_the_checker_catches_an_example_that_contradicts_its_schema(
    document: dict[str, Any],
) -> None:
    # The walk is only worth something if a wrong example fails it.
    broken = json.loads(json.dumps(document))
    page = broken["components"]["schemas"]["PaginatedSessionList"]["properties"]
    page["next"]["example"] = 'http://api.example.org/sessions/?cursor=cD00ODY%3D"'
    broken["components"]["schemas"]["Session"]["properties"]["status"]["example"] = 7
    found = mismatches(broken)
    assert any("PaginatedSessionList/properties/next" in line for line in found)
    assert any("Session/properties/status" in line for line in found)


def test_the_document_names_its_servers_and_a_contact(document: dict[str, Any]) -> None:
    assert document["servers"], "no servers entry"
    for server in document["servers"]:
        assert server["url"] and server.get("description")
    contact = document["info"]["contact"]
    assert contact.get("name")
    # Optional parts are left out rather than sent empty (GATEWAY_API_CONTACT_EMAIL/URL).
    assert all(value for value in contact.values())
    assert _is_uri(contact.get("url", "https://gateway.example.com"))


def test_every_operation_tag_is_declared_with_a_description(document: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    used = {
        tag
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }
    assert used, "operations carry no tags"
    assert used <= set(declared), f"undeclared tags: {sorted(used - set(declared))}"
    assert all(declared[tag].strip() for tag in used)
    assert {"Sessions", "Groups", "Webhooks"} <= used


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    from drf_spectacular.validation import validate_schema

    validate_schema(document)  # raises on a document that breaks the OpenAPI 3.0 schema
    assert document["openapi"].startswith("3.0")

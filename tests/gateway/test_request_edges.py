"""Requests at the edges of what a parser, a cursor or a URL can carry: 400/404, never 500."""

import base64
import logging

import pytest
from django.test import Client

from tests.factories import GroupFactory
from tests.helpers import assert_error


def groups_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/groups"


@pytest.mark.django_db
class TestDeepJson:
    @pytest.mark.parametrize("depth", [10_000, 100_000])
    def test_deeply_nested_json_is_400(self, api, session, depth):
        body = "[" * depth + "]" * depth
        response = api.post(groups_url(session), body, content_type="application/json")
        error = assert_error(response, 400, "validation_error")
        assert "nested too deeply" in error["message"]

    def test_deep_objects_too(self, api, session):
        body = '{"a":' * 10_000 + "1" + "}" * 10_000
        response = api.post("/api/v1/sessions", body, content_type="application/json")
        assert_error(response, 400, "validation_error")

    def test_moderate_nesting_is_an_ordinary_validation_error(self, api, session):
        body = '{"name": ' + "[" * 500 + "]" * 500 + ', "participants": []}'
        response = api.post(groups_url(session), body, content_type="application/json")
        error = assert_error(response, 400, "validation_error")
        assert "name" in error["details"]


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.django_db
class TestCraftedCursors:
    @pytest.mark.parametrize(
        "raw",
        [
            "p=notadate",
            "p=99999999999999999999999999",
            "p=-1e400",
            "p=2026-01-01T00:00:00",  # naive
            "o=1&p=%00",
            "r=1&p=",
        ],
    )
    @pytest.mark.parametrize("which", ["groups", "sessions"])
    def test_is_400_on_both_lists(self, api, session, raw, which, caplog):
        GroupFactory(session=session)
        url = groups_url(session) if which == "groups" else "/api/v1/sessions"
        secret_looking = cursor(raw)
        with caplog.at_level(logging.DEBUG):
            response = api.get(url, {"cursor": secret_looking})
        if response.status_code == 200:
            # A position DRF ignores (empty) is simply the first page.
            assert raw == "r=1&p="
            return
        error = assert_error(response, 400, "validation_error")
        assert error["details"] == {"cursor": ["invalid cursor"]}
        assert secret_looking not in caplog.text
        assert raw not in caplog.text

    def test_a_real_cursor_still_pages(self, api, session):
        GroupFactory.create_batch(3, session=session)
        first = api.get(groups_url(session), {"limit": 2}).json()
        assert first["next"]
        second = api.get(first["next"]).json()
        assert len(second["results"]) == 1


@pytest.mark.django_db
class TestUnknownUrls:
    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_any_method_to_an_unknown_api_url_is_the_404_envelope(self, method):
        client = Client(enforce_csrf_checks=True)  # as a browser-less client meets it
        response = getattr(client, method)("/api/v1/nope", "{}", content_type="application/json")
        error = assert_error(response, 404, "not_found")
        assert "/api/v1/nope" in error["message"]

    def test_admin_still_checks_csrf(self, db):
        client = Client(enforce_csrf_checks=True)
        assert client.post("/admin/login/", {"username": "x"}).status_code == 403


@pytest.mark.django_db
class TestOneMessageStyle:
    def test_an_unknown_format_is_400_naming_the_parameter(self, api, session):
        response = api.get(f"/api/v1/sessions/{session.id}/qr", {"format": "xyz"})
        error = assert_error(response, 400, "validation_error")
        assert error["message"] == "query parameter is invalid"
        assert "format" in error["details"]

    def test_a_bad_cursor_is_a_query_parameter(self, api, session):
        error = assert_error(api.get("/api/v1/sessions", {"cursor": "x"}), 400, "validation_error")
        assert error["message"] == "query parameter is invalid"

    def test_a_wrong_method_is_said_plainly(self, api, session):
        error = assert_error(api.put(f"/api/v1/sessions/{session.id}"), 405, "method_not_allowed")
        assert error["message"] == "method PUT is not allowed here"

    def test_every_error_body_is_compact(self, api):
        body = Client().get("/api/v1/nope").content.decode()
        assert ", " not in body and '": ' not in body

    def test_a_command_names_the_bad_field_not_a_request_body(self, db):
        from django.core.management import CommandError, call_command

        with pytest.raises(CommandError) as failed:
            call_command("createorg", "Bad Slug")
        assert "request body" not in str(failed.value)
        assert str(failed.value).startswith("slug:")

"""Every non-2xx response under /api/ is the error envelope, whatever produced it."""

import pytest
from django.test import Client

from tests.helpers import assert_error
from tests.urls import LEAK


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.mark.django_db
class TestUnknownUrls:
    @pytest.mark.parametrize(
        "path",
        ["/api/", "/api/v1/", "/api/v1/nope", "/api/v2/sessions", "/api/v1/sessions/x/groups/a/b"],
    )
    def test_404_envelope(self, client, path):
        assert_error(client.get(path), 404, "not_found")

    def test_unknown_url_outside_api_is_not_rewritten(self, client):
        response = client.get("/nothing-here")
        assert response.status_code == 404
        assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
@pytest.mark.urls("tests.urls")
class TestServerErrors:
    @pytest.mark.parametrize("path", ["/api/v1/test/drf-boom", "/api/v1/test/plain-boom"])
    def test_500_without_traceback(self, client, path):
        response = client.get(path)
        error = assert_error(response, 500, "internal_error")
        assert error["details"] == {}
        assert LEAK not in response.content.decode()
        assert "Traceback" not in response.content.decode()

    @pytest.mark.parametrize("path", ["/api/v1/test/drf-boom", "/api/v1/test/plain-boom"])
    def test_500_without_traceback_even_with_debug_on(self, client, settings, path):
        settings.DEBUG = True
        response = client.get(path)
        assert_error(response, 500, "internal_error")
        assert LEAK not in response.content.decode()

    def test_database_unavailable_is_503(self, client):
        response = client.get("/api/v1/test/database-down")
        assert_error(response, 503, "database_unavailable")
        assert LEAK not in response.content.decode()


@pytest.mark.django_db
class TestDjangoLevelErrors:
    def test_a_host_not_allowed_is_named_as_the_cause(self, client, settings):
        settings.ALLOWED_HOSTS = ["gateway.example"]
        response = client.get("/api/v1/sessions/x/groups", HTTP_HOST="evil.example")
        error = assert_error(response, 400, "bad_request")
        assert error["message"] == "host not allowed"

    def test_healthz_answers_for_any_host(self, client, settings):
        """A load balancer probes a node by its address."""
        settings.ALLOWED_HOSTS = ["gateway.example"]
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        # Everything else still checks the host.
        assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 400

    def test_405_keeps_the_allow_header(self, api, session):
        response = api.delete(f"/api/v1/sessions/{session.id}/groups")
        assert_error(response, 405, "method_not_allowed")
        assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}

    def test_options_answers_the_allowed_methods_on_every_path(self, api, session):
        """Every Allow header lists OPTIONS, so OPTIONS answers: the same methods in the
        body, a superset of what the OpenAPI document says the path does."""
        import re

        document = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        paths = document.json()["paths"]
        assert len(paths) > 10
        for template, item in paths.items():
            path = re.sub(r"\{session\}", session.id, template)
            path = re.sub(r"\{[^}]+\}", "x1", path)
            response = api.options(path)
            assert response.status_code == 200, (template, response.content)
            allowed = [method.strip() for method in response["Allow"].split(",")]
            assert "OPTIONS" in allowed, template
            assert response.json() == {"methods": allowed, "schema": "/api/schema/"}
            documented = {method.upper() for method in item if method != "parameters"}
            assert documented <= set(allowed), template

    def test_options_needs_a_key_like_every_request(self, anonymous, session):
        response = anonymous.options(f"/api/v1/sessions/{session.id}/groups")
        assert_error(response, 401, "unauthorized")

    def test_unacceptable_accept_header_is_406(self, api, session):
        response = api.get(f"/api/v1/sessions/{session.id}/groups", HTTP_ACCEPT="text/csv")
        assert_error(response, 406, "not_acceptable")


@pytest.mark.django_db
def test_the_root_is_a_landing_page_linking_docs_schema_and_admin(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    for link in ('href="/api/docs/"', 'href="/api/schema/"', 'href="/admin/"'):
        assert link in text
    # The admin's "View site" link goes there.
    from django.contrib import admin

    assert admin.site.site_url == "/"


@pytest.mark.django_db
class TestHealth:
    def test_healthz(self, client):
        assert client.get("/healthz").json() == {"status": "ok"}

    def test_readyz(self, client):
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "runner": "ok"}

    def test_readyz_without_a_runner_is_ready_and_says_so(self, client, settings):
        """The node can serve (reads work without a runner): 200, the runner's state in
        the body; a runner whose heartbeat is fresh makes it "ok"."""
        from datetime import timedelta

        from django.utils import timezone

        from sessions_app.models import Runner

        settings.GATEWAY_RUNNER_IN_PROCESS = False
        settings.GATEWAY_RUNNER_LEASE_SECONDS = 15
        stale = timezone.now() - timedelta(seconds=60)
        Runner.objects.create(
            id="gone", url="http://127.0.0.1:9", capacity=1, started_at=stale, heartbeat_at=stale
        )
        answer = client.get("/readyz")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": "ok", "runner": "unavailable"}
        Runner.objects.filter(pk="gone").update(heartbeat_at=timezone.now())
        assert client.get("/readyz").json()["runner"] == "ok"

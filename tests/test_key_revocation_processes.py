"""Revocation reaches every web process within GATEWAY_API_KEY_MEMORY_SECONDS, though each
remembers the keys it resolved: two gunicorn processes on the test database, a key both
have just used, revoked from a third process (this one)."""

import time

import pytest
import requests

from auth_app.capabilities import Capability
from auth_app.services import IssuedKey, api_key_issue, api_key_revoke, organization_create
from tests.processes import process_env
from tests.test_servers import GUNICORN, serving

MEMORY_SECONDS = 1


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_stops_on_every_process_within_the_memory_seconds(tmp_path):
    org = organization_create(slug="acme")
    issued = api_key_issue(organization=org, capabilities=frozenset({Capability.READ}))
    headers = {"Authorization": f"Bearer {issued.token}"}
    env = process_env(
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        GATEWAY_RATE_LIMIT_READ="off",
        GATEWAY_API_KEY_MEMORY_SECONDS=str(MEMORY_SECONDS),
    )
    with (
        serving(GUNICORN, env, tmp_path / "one.log") as one,
        serving(GUNICORN, env, tmp_path / "two.log") as two,
    ):
        for url in (one, two):  # each process resolves the key and remembers it
            for _ in range(3):
                assert requests.get(f"{url}/api/v1/sessions", headers=headers, timeout=5).ok

        api_key_revoke(api_key=issued.api_key)
        revoked_at = time.monotonic()
        # Past the memory's seconds (plus scheduling slack), both refuse, on the first try.
        time.sleep(MEMORY_SECONDS + 0.1)

        for url in (one, two):
            response = requests.get(f"{url}/api/v1/sessions", headers=headers, timeout=5)
            assert response.status_code == 401, response.text
            assert response.json()["error"]["message"] == "API key has been revoked"
        assert time.monotonic() - revoked_at < MEMORY_SECONDS + 1


@pytest.fixture
def remembered_key(client) -> tuple[IssuedKey, dict[str, str]]:
    """A key this process has just resolved (and so remembers), with its headers."""
    org = organization_create(slug="acme")
    issued = api_key_issue(organization=org, capabilities=frozenset({Capability.READ}))
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/sessions", headers=headers).status_code == 200
    return issued, headers


@pytest.mark.django_db
def test_the_process_that_revokes_forgets_at_once(client, remembered_key):
    issued, headers = remembered_key

    api_key_revoke(api_key=issued.api_key)

    response = client.get("/api/v1/sessions", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "API key has been revoked"


@pytest.mark.django_db
def test_a_key_deleted_in_this_process_is_refused_at_once(client, remembered_key):
    issued, headers = remembered_key

    issued.api_key.delete()

    assert client.get("/api/v1/sessions", headers=headers).status_code == 401

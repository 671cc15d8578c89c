"""The JWKS client against a real HTTP server on loopback, with a controllable clock."""

import json
import threading

import pytest

from auth_app.jwks import JwksClient, KeyNotFound, KeySetUnavailable, KeyUnusable
from tests.auth_app.jwks_server import make_key, serve_jwks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def es_key():
    return make_key("ES256", "k1")


@pytest.fixture(scope="module")
def es_key_2():
    return make_key("ES256", "k2")


@pytest.fixture
def server(es_key):
    with serve_jwks() as state:
        state.keys = [es_key]
        yield state


@pytest.fixture
def clock():
    return Clock()


def client(server, clock, **kwargs) -> JwksClient:
    options = {"cache_seconds": 600, "cooldown_seconds": 30, "grace_seconds": 3600}
    options.update(kwargs)
    return JwksClient(server.url, clock=clock, timeout_seconds=1.0, **options)


def test_fetches_once_then_serves_from_cache(server, clock):
    jwks = client(server, clock)
    for _ in range(50):
        assert jwks.get_key("k1", "ES256").key_id == "k1"
    assert server.requests == 1


def test_refetches_after_the_cache_expires(server, clock):
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    clock.now += 599
    jwks.get_key("k1", "ES256")
    assert server.requests == 1
    clock.now += 2
    jwks.get_key("k1", "ES256")
    assert server.requests == 2


def test_honours_cache_control_max_age(server, clock):
    server.cache_control = "public, max-age=120"
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    clock.now += 119
    jwks.get_key("k1", "ES256")
    assert server.requests == 1
    clock.now += 2
    jwks.get_key("k1", "ES256")
    assert server.requests == 2


def test_rotation_new_kid_is_found_after_one_refetch(server, clock, es_key, es_key_2):
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    server.keys = [es_key, es_key_2]
    clock.now += 31  # past the cooldown since the last fetch
    assert jwks.get_key("k2", "ES256").key_id == "k2"
    assert server.requests == 2


def test_unknown_kids_cost_at_most_one_fetch_per_cooldown(server, clock):
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    clock.now += 31
    for n in range(200):
        with pytest.raises(KeyNotFound):
            jwks.get_key(f"bogus-{n}", "ES256")
    assert server.requests == 2
    clock.now += 31
    with pytest.raises(KeyNotFound):
        jwks.get_key("bogus-0", "ES256")
    assert server.requests == 3


def test_concurrent_cold_requests_share_one_fetch(server, clock):
    server.delay = 0.2
    jwks = client(server, clock)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(jwks.get_key("k1", "ES256").key_id))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["k1"] * 20
    assert server.requests == 1


def test_dropped_kid_is_refused_after_a_successful_refetch(server, clock, es_key_2):
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    server.keys = [es_key_2]
    clock.now += 601
    with pytest.raises(KeyNotFound):
        jwks.get_key("k1", "ES256")
    assert jwks.get_key("k2", "ES256").key_id == "k2"


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 404},
        {"body": b"<html>oops</html>"},
        {"body": json.dumps({"no": "keys"}).encode()},
    ],
)
def test_down_or_garbage_with_a_warm_cache_keeps_verifying_within_grace(
    server, clock, failure, caplog
):
    jwks = client(server, clock)
    jwks.get_key("k1", "ES256")
    for name, value in failure.items():
        setattr(server, name, value)
    clock.now += 601  # expired
    assert jwks.get_key("k1", "ES256").key_id == "k1"
    assert "JWKS" in caplog.text
    clock.now += 3600  # past expiry + grace
    with pytest.raises(KeySetUnavailable):
        jwks.get_key("k1", "ES256")


def test_failed_fetches_are_not_retried_within_the_cooldown(server, clock):
    server.status = 503
    jwks = client(server, clock)
    for _ in range(10):
        with pytest.raises(KeySetUnavailable):
            jwks.get_key("k1", "ES256")
    assert server.requests == 1
    server.status = 200
    clock.now += 31
    assert jwks.get_key("k1", "ES256").key_id == "k1"
    assert server.requests == 2


def test_cold_cache_and_endpoint_down(clock):
    with serve_jwks() as gone:
        url = gone.url
    jwks = JwksClient(url, clock=clock, timeout_seconds=1.0)
    with pytest.raises(KeySetUnavailable):
        jwks.get_key("k1", "ES256")


def test_slow_endpoint_is_abandoned_at_the_timeout(server, clock):
    server.delay = 5
    jwks = JwksClient(server.url, clock=clock, timeout_seconds=0.3)
    with pytest.raises(KeySetUnavailable):
        jwks.get_key("k1", "ES256")
    # The server is still sleeping on the request: the client did not wait for it.
    assert server.requests == 1
    assert not server.handled.is_set()


def test_key_of_another_type_cannot_verify_the_algorithm(server, clock):
    jwks = client(server, clock)
    with pytest.raises(KeyUnusable):
        jwks.get_key("k1", "RS256")


def test_declared_alg_must_match(server, clock, es_key):
    server.keys = []
    server.body = json.dumps({"keys": [{**es_key.jwk, "alg": "ES384"}]}).encode()
    jwks = client(server, clock)
    with pytest.raises(KeyUnusable):
        jwks.get_key("k1", "ES256")


def test_encryption_and_symmetric_keys_are_ignored(server, clock, es_key):
    server.body = json.dumps(
        {
            "keys": [
                {**es_key.jwk, "use": "enc"},
                {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
            ]
        }
    ).encode()
    jwks = client(server, clock)
    for kid in ("k1", "shared"):
        with pytest.raises(KeyNotFound):
            jwks.get_key(kid, "ES256")


def test_token_without_kid_uses_the_only_key(server, clock):
    jwks = client(server, clock)
    assert jwks.get_key(None, "ES256").key_id == "k1"


def test_only_http_urls():
    with pytest.raises(ValueError, match="http"):
        JwksClient("file:///etc/passwd")

"""Fixtures of the login-JWT tests: a real JWKS server on loopback and signing keys."""

import pytest

from auth_app import jwt_auth
from tests.auth_app.jwks_server import make_key, serve_jwks
from tests.factories import OrganizationFactory, WhatsAppSessionFactory

ISSUER = "https://frontend.example"
AUDIENCE = "whatsapp-gateway"


@pytest.fixture(scope="module")
def keys():
    return {alg: make_key(alg, f"{alg.lower()}-1") for alg in ("RS256", "ES256", "EdDSA")}


@pytest.fixture
def jwks(keys):
    """A JWKS server of its own for each test. A process keeps a JWKS client (and its
    keys) per URL, and a later test's server can get an earlier one's port: each test
    starts without them."""
    jwt_auth.forget_clients()
    with serve_jwks() as server:
        server.keys = list(keys.values())
        yield server
    jwt_auth.forget_clients()


@pytest.fixture
def jwt_settings(settings, jwks):
    settings.GATEWAY_JWT = {
        **settings.GATEWAY_JWT,
        "JWKS_URL": jwks.url,
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "JWKS_TIMEOUT_SECONDS": 1,
    }
    return settings


@pytest.fixture
def acme(db):
    return OrganizationFactory(slug="acme", external_id="org_acme")


@pytest.fixture
def acme_session(acme):
    return WhatsAppSessionFactory(organization=acme)

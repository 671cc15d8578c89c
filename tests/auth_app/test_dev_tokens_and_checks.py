"""Development tokens (minttoken + the served dev JWKS) and the JWT system checks."""

from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from auth_app.checks import check_jwt_settings
from tests.factories import OrganizationFactory, WhatsAppSessionFactory


def configure(settings, **changes):
    settings.GATEWAY_JWT = {**settings.GATEWAY_JWT, **changes}


def mint(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("minttoken", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


@pytest.mark.django_db(transaction=True)
def test_minted_token_verifies_through_the_served_dev_jwks(settings, live_server):
    configure(
        settings,
        DEV_SIGNING=True,
        JWKS_URL=f"{live_server.url}/.well-known/jwks.json",
        ISSUER="",
        AUDIENCE="",
    )
    organization = OrganizationFactory(slug="acme", external_id="org_acme")
    session = WhatsAppSessionFactory(organization=organization)

    token = mint("--org", "acme", "--role", "member", "--ttl", "600", "--sub", "dev-alice")

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["org_id"] == "org_acme" and claims["role"] == "member"
    assert claims["sub"] == "dev-alice"
    assert claims["exp"] - claims["iat"] == 600
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        f"/api/v1/sessions/{session.id}/groups",
        {"name": "Team", "participants": ["15551234567@s.whatsapp.net"]},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_dev_key_file_is_owner_only(settings):
    configure(settings, DEV_SIGNING=True)
    OrganizationFactory(slug="acme", external_id="org_acme")
    mint("--org", "acme", "--role", "viewer")
    from pathlib import Path

    key_file = Path(settings.DATA_DIR) / "dev-jwt-signing-key.pem"
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_dev_jwks_is_404_unless_enabled(settings):
    configure(settings, DEV_SIGNING=False)
    assert Client().get("/.well-known/jwks.json").status_code == 404
    configure(settings, DEV_SIGNING=True)
    body = Client().get("/.well-known/jwks.json").json()
    assert [key["kty"] for key in body["keys"]] == ["EC"]
    assert "d" not in body["keys"][0]  # the public half only


@pytest.mark.django_db
class TestMintTokenErrors:
    def test_refuses_when_dev_signing_is_off(self, settings):
        configure(settings, DEV_SIGNING=False)
        OrganizationFactory(slug="acme", external_id="org_acme")
        with pytest.raises(CommandError, match="GATEWAY_JWT_DEV_SIGNING"):
            mint("--org", "acme", "--role", "owner")

    def test_organization_without_external_id(self, settings):
        configure(settings, DEV_SIGNING=True)
        OrganizationFactory(slug="acme", external_id=None)
        with pytest.raises(CommandError, match="external id"):
            mint("--org", "acme", "--role", "owner")

    def test_unknown_organization(self, settings):
        configure(settings, DEV_SIGNING=True)
        with pytest.raises(CommandError, match="not found"):
            mint("--org", "nope", "--role", "owner")

    def test_bad_ttl(self, settings):
        configure(settings, DEV_SIGNING=True)
        OrganizationFactory(slug="acme", external_id="org_acme")
        with pytest.raises(CommandError, match="ttl"):
            mint("--org", "acme", "--role", "owner", "--ttl", "0")


class TestSystemChecks:
    def ids(self) -> set[str]:
        return {message.id for message in check_jwt_settings()}

    def test_default_configuration_is_clean(self, settings):
        assert self.ids() == set()

    @pytest.mark.parametrize("alg", ["HS256", "none"])
    def test_forbidden_algorithm(self, settings, alg):
        configure(settings, ALGORITHMS=["RS256", alg])
        assert "auth_app.E001" in self.ids()

    def test_unknown_algorithm(self, settings):
        configure(settings, ALGORITHMS=["RS257"])
        assert "auth_app.E002" in self.ids()

    def test_jwks_url_must_be_http(self, settings):
        configure(settings, JWKS_URL="ftp://keys.example/jwks.json")
        assert "auth_app.E003" in self.ids()

    def test_unknown_capability_in_role_map(self, settings):
        configure(settings, ROLE_CAPABILITIES={"owner": ["read", "everything"]})
        assert "auth_app.E004" in self.ids()

    def test_no_usable_algorithm(self, settings):
        configure(settings, JWKS_URL="https://keys.example/jwks.json", ALGORITHMS=["HS256"])
        assert "auth_app.E005" in self.ids()

    def test_dev_signing_without_debug_warns(self, settings):
        configure(settings, DEV_SIGNING=True)
        settings.DEBUG = False
        assert "auth_app.W001" in self.ids()

"""Login JWTs end to end: a real JWKS server on loopback, tokens signed with real keys."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from auth_app import jwt_auth
from auth_app.models import Organization
from auth_app.principal import TokenKind
from groups_app.models import Group
from tests.auth_app.jwks_server import make_key
from tests.factories import GroupFactory, OrganizationFactory, WhatsAppSessionFactory
from tests.helpers import assert_error

ISSUER = "https://frontend.example"
AUDIENCE = "whatsapp-gateway"
ALICE = "15551230001@s.whatsapp.net"


def configure(settings, **changes):
    settings.GATEWAY_JWT = {**settings.GATEWAY_JWT, **changes}


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user_42",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "org_id": "org_acme",
        "role": "member",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def groups_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/groups"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestAccepted:
    @pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
    def test_each_algorithm(self, keys, acme_session, algorithm):
        response = bearer(keys[algorithm].sign(claims())).get(groups_url(acme_session))
        assert response.status_code == 200, response.content

    def test_principal_carries_org_capabilities_subject_and_kind(self, keys, acme):
        principal = jwt_auth.resolve(keys["ES256"].sign(claims(role="viewer")))
        assert principal.organization == acme
        assert principal.capabilities == {"read"}
        assert principal.identifier == "user_42"
        assert principal.kind == TokenKind.JWT

    def test_member_can_create_a_group(self, keys, acme_session):
        response = bearer(keys["RS256"].sign(claims())).post(
            groups_url(acme_session), {"name": "Team", "participants": [ALICE]}, format="json"
        )
        assert response.status_code == 201

    def test_expired_within_the_leeway_is_accepted(self, keys, acme_session):
        token = keys["ES256"].sign(claims(exp=int(time.time()) - 10))
        assert bearer(token).get(groups_url(acme_session)).status_code == 200

    def test_numeric_org_claim(self, keys, db):
        organization = OrganizationFactory(external_id="12345")
        session = WhatsAppSessionFactory(organization=organization)
        token = keys["ES256"].sign(claims(org_id=12345))
        assert bearer(token).get(groups_url(session)).status_code == 200

    def test_hot_path_costs_no_network_call_and_no_write(self, keys, acme_session, jwks):
        GroupFactory(session=acme_session)
        client = bearer(keys["ES256"].sign(claims()))
        client.get(groups_url(acme_session))
        fetched = jwks.requests
        with CaptureQueriesContext(connection) as queries:
            assert client.get(groups_url(acme_session)).status_code == 200
        assert jwks.requests == fetched
        writes = [
            q["sql"]
            for q in queries
            if not q["sql"].lstrip().upper().startswith("SELECT")
            and "ratecounter" not in q["sql"]  # the rate limit's counter, not authentication
        ]
        assert writes == []
        # The rate-limit counter and the page: the organization is remembered from the call
        # before (auth_app/resolution_memory.py).
        assert len(queries) == 2

    def test_key_rotation_is_picked_up_after_one_refetch(self, settings, jwks, acme_session):
        configure(settings, JWKS_COOLDOWN_SECONDS=0)
        old = jwks.keys[0]
        assert bearer(old.sign(claims())).get(groups_url(acme_session)).status_code == 200
        assert jwks.requests == 1
        rotated = make_key("ES256", "es256-rotated")
        jwks.keys = [*jwks.keys, rotated]

        response = bearer(rotated.sign(claims())).get(groups_url(acme_session))

        assert response.status_code == 200
        assert jwks.requests == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestJwksFailures:
    def test_down_with_a_warm_cache_still_accepts(self, settings, keys, jwks, acme_session):
        # Every request finds the cache expired and tries the endpoint; the last good key
        # set keeps verifying within the grace period.
        configure(settings, JWKS_CACHE_SECONDS=0, JWKS_COOLDOWN_SECONDS=0)
        client = bearer(keys["ES256"].sign(claims()))
        assert client.get(groups_url(acme_session)).status_code == 200
        jwks.status = 503

        response = client.get(groups_url(acme_session))

        assert response.status_code == 200
        assert jwks.requests == 2

    def test_down_with_a_cold_cache_is_401_not_500(self, keys, jwks, acme_session):
        jwks.status = 500
        error = assert_error(
            bearer(keys["ES256"].sign(claims())).get(groups_url(acme_session)), 401, "unauthorized"
        )
        assert "signing keys are unavailable" in error["message"]

    def test_hanging_endpoint_is_401_within_the_timeout(self, settings, keys, jwks, acme_session):
        configure(settings, JWKS_TIMEOUT_SECONDS=0.3)
        jwks.delay = 5
        response = bearer(keys["ES256"].sign(claims())).get(groups_url(acme_session))
        assert_error(response, 401, "unauthorized")
        assert jwks.requests == 1
        assert not jwks.handled.is_set()  # answered before the endpoint did

    def test_flood_of_unknown_kids_costs_at_most_two_fetches(self, keys, jwks, acme_session):
        signer = keys["ES256"]
        for n in range(200):
            token = signer.sign(claims(), kid=f"bogus-{uuid.uuid4()}")
            # From many addresses, as a real flood would be: one address alone would soon
            # get 429 (the unauthenticated limit) before its token is even looked at.
            response = bearer(token).get(groups_url(acme_session), REMOTE_ADDR=f"10.0.0.{n}")
            assert_error(response, 401, "unauthorized")
        assert 1 <= jwks.requests <= 2


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestRefused:
    def refused(self, token: str, session, message: str) -> None:
        response = bearer(token).get(groups_url(session))
        error = assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert message in error["message"]
        assert token not in response.content.decode()

    def test_expired(self, keys, acme_session):
        token = keys["ES256"].sign(claims(exp=int(time.time()) - 120))
        self.refused(token, acme_session, "expired")

    def test_not_yet_valid(self, keys, acme_session):
        token = keys["ES256"].sign(claims(nbf=int(time.time()) + 300))
        self.refused(token, acme_session, "not yet valid")

    def test_issued_in_the_future(self, keys, acme_session):
        token = keys["ES256"].sign(claims(iat=int(time.time()) + 300))
        self.refused(token, acme_session, "not yet valid")

    def test_wrong_issuer(self, keys, acme_session):
        token = keys["ES256"].sign(claims(iss="https://evil.example"))
        self.refused(token, acme_session, "issuer")

    def test_wrong_audience(self, keys, acme_session):
        token = keys["ES256"].sign(claims(aud="another-service"))
        self.refused(token, acme_session, "audience")

    @pytest.mark.parametrize("claim", ["exp", "sub", "org_id", "role", "iss", "aud"])
    def test_missing_claim(self, keys, acme_session, claim):
        token = keys["ES256"].sign(claims(**{claim: None}))
        response = bearer(token).get(groups_url(acme_session))
        error = assert_error(response, 401, "unauthorized")
        assert error["message"] == f"token is missing the '{claim}' claim"

    def test_alg_none(self, acme_session):
        token = unsigned({"alg": "none", "typ": "JWT"}, claims()) + "."
        self.refused(token, acme_session, "algorithm 'none' is not accepted")

    def test_hs256_signed_with_the_public_key(self, keys, acme_session):
        public_pem = (
            keys["RS256"]
            .private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": "rs256-1"}, claims())
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        self.refused(f"{signing_input}.{b64(signature)}", acme_session, "HS256")

    def test_tampered_payload(self, keys, acme_session):
        header, _, signature = keys["ES256"].sign(claims(role="viewer")).split(".")
        forged_payload = b64(json.dumps(claims(role="owner")).encode())
        self.refused(f"{header}.{forged_payload}.{signature}", acme_session, "signature")

    def test_signed_by_a_key_not_in_the_jwks(self, acme_session):
        stranger = make_key("ES256", "es256-1")  # same kid, different key
        self.refused(stranger.sign(claims()), acme_session, "signature")

    def test_algorithm_not_configured(self, settings, keys, acme_session):
        configure(settings, ALGORITHMS=["RS256"])
        self.refused(keys["ES256"].sign(claims()), acme_session, "'ES256' is not accepted")

    def test_header_alg_that_does_not_match_the_key(self, keys, acme_session):
        # A valid ES256 signature, relabelled RS256 and pointing at the EC key.
        es = keys["ES256"]
        _, payload, signature = es.sign(claims()).split(".")
        header = b64(json.dumps({"alg": "RS256", "kid": es.kid, "typ": "JWT"}).encode())
        self.refused(f"{header}.{payload}.{signature}", acme_session, "does not match")

    def test_malformed(self, acme_session):
        self.refused("abc.def.ghi", acme_session, "malformed")

    def test_no_jwks_configured_refuses_jwts_but_keys_work(
        self, settings, keys, acme, acme_session, issue_token
    ):
        configure(settings, JWKS_URL="")
        self.refused(keys["ES256"].sign(claims()), acme_session, "not accepted")
        assert bearer(issue_token(acme, "read")).get(groups_url(acme_session)).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestRolesAndOrganizations:
    def test_viewer_cannot_create_a_group(self, keys, acme_session):
        response = bearer(keys["ES256"].sign(claims(role="viewer"))).post(
            groups_url(acme_session), {"name": "Team", "participants": [ALICE]}, format="json"
        )
        error = assert_error(response, 403, "forbidden")
        assert error["details"] == {"required": "send"}
        assert not Group.objects.exists()

    def test_viewer_can_read(self, keys, acme_session):
        token = keys["ES256"].sign(claims(role="viewer"))
        assert bearer(token).get(groups_url(acme_session)).status_code == 200

    def test_unknown_role_has_no_capability(self, keys, acme_session):
        response = bearer(keys["ES256"].sign(claims(role="intern"))).get(groups_url(acme_session))
        assert_error(response, 403, "forbidden")

    def test_custom_role_map(self, settings, keys, acme_session):
        configure(settings, ROLE_CAPABILITIES={"intern": ["read"]})
        token = keys["ES256"].sign(claims(role="intern"))
        assert bearer(token).get(groups_url(acme_session)).status_code == 200

    def test_custom_claim_names(self, settings, keys, acme_session):
        configure(
            settings, ORG_CLAIM="https://example.com/org", ROLE_CLAIM="https://example.com/role"
        )
        token = keys["ES256"].sign(
            claims(
                org_id=None,
                role=None,
                **{"https://example.com/org": "org_acme", "https://example.com/role": "viewer"},
            )
        )
        assert bearer(token).get(groups_url(acme_session)).status_code == 200

    def test_unknown_organization_is_provisioned(self, keys, db):
        token = keys["ES256"].sign(claims(org_id="org_new_Co"))
        session_url = "/api/v1/sessions/01HZ0SESSION0000000000000Z/groups"
        assert_error(bearer(token).get(session_url), 404, "not_found")
        organization = Organization.objects.get(external_id="org_new_Co")
        assert organization.slug.startswith("org-new-co-")
        bearer(token).get(session_url)
        assert Organization.objects.filter(external_id="org_new_Co").count() == 1

    def test_unknown_organization_refused_when_provisioning_is_off(self, settings, keys, db):
        configure(settings, AUTOPROVISION_ORGS=False)
        token = keys["ES256"].sign(claims(org_id="org_unknown"))
        response = bearer(token).get("/api/v1/sessions/01HZ0SESSION0000000000000Z/groups")
        assert_error(response, 401, "unauthorized")
        assert not Organization.objects.filter(external_id="org_unknown").exists()

    def test_org_a_cannot_see_org_b(self, keys, acme):
        other = OrganizationFactory(slug="globex", external_id="org_globex")
        theirs = WhatsAppSessionFactory(organization=other)
        response = bearer(keys["ES256"].sign(claims(role="owner"))).get(groups_url(theirs))
        error = assert_error(response, 404, "not_found")
        assert error["message"] == "session not found"


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestVerifiedTokenMemory:
    """A token verified once is not verified again while its key set is current and its
    exp has not passed; everything else about it is still checked on every request."""

    @staticmethod
    def memory():
        from auth_app.jwt_config import jwt_config

        return jwt_auth.jwks_client(jwt_config()).verified

    def test_an_accepted_token_is_remembered_a_refused_one_is_not(self, keys, acme_session):
        good = keys["ES256"].sign(claims())
        assert bearer(good).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 1
        tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        assert bearer(tampered).get(groups_url(acme_session)).status_code == 401
        assert (
            bearer(keys["ES256"].sign(claims(aud="another")))
            .get(groups_url(acme_session))
            .status_code
            == 401
        )
        assert len(self.memory()) == 1
        assert bearer(good).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 1

    def test_a_remembered_token_is_refused_once_its_key_leaves_the_set(
        self, settings, keys, jwks, acme_session
    ):
        configure(settings, JWKS_COOLDOWN_SECONDS=0)
        old = keys["ES256"]
        token = old.sign(claims())
        assert bearer(token).get(groups_url(acme_session)).status_code == 200
        rotated = make_key("ES256", "es256-next")
        jwks.keys = [rotated]  # the frontend drops the old key
        # A token with the new kid makes the gateway refetch: the new set lacks the old key.
        assert bearer(rotated.sign(claims())).get(groups_url(acme_session)).status_code == 200

        response = bearer(token).get(groups_url(acme_session))

        assert_error(response, 401, "unauthorized")
        assert "unknown key" in response.json()["error"]["message"]

    def test_a_remembered_token_is_refused_past_its_exp(self, settings, keys, acme_session):
        configure(settings, LEEWAY=0)
        now = int(time.time())
        token = keys["ES256"].sign(claims(iat=now, nbf=now, exp=now + 2))
        assert bearer(token).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 1
        while time.time() < now + 3:
            time.sleep(0.2)

        response = bearer(token).get(groups_url(acme_session))

        assert_error(response, 401, "unauthorized")
        assert "expired" in response.json()["error"]["message"]

    def test_the_same_token_under_other_rules_is_checked_again(self, settings, keys, acme_session):
        token = keys["ES256"].sign(claims())
        assert bearer(token).get(groups_url(acme_session)).status_code == 200
        configure(settings, AUDIENCE="another-service")

        response = bearer(token).get(groups_url(acme_session))

        assert_error(response, 401, "unauthorized")
        assert "audience" in response.json()["error"]["message"]

    def test_the_memory_is_bounded(self, keys, acme_session):
        self.memory().limit = 3
        tokens = [keys["ES256"].sign(claims(sub=f"user_{n}")) for n in range(5)]
        for token in tokens:
            assert bearer(token).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 3
        # The oldest went first; it is verified again in full (and still accepted).
        assert bearer(tokens[0]).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 3

    def test_the_checks_after_the_signature_still_apply_to_a_remembered_token(
        self, settings, keys, acme_session
    ):
        token = keys["ES256"].sign(claims())  # lives 300 s
        assert bearer(token).get(groups_url(acme_session)).status_code == 200
        assert len(self.memory()) == 1
        configure(settings, MAX_LIFETIME_SECONDS=60)

        response = bearer(token).get(groups_url(acme_session))

        assert_error(response, 401, "unauthorized")
        assert "lifetime" in response.json()["error"]["message"]

    def test_an_organization_deleted_in_this_process_is_forgotten_at_once(
        self, settings, keys, acme, acme_session
    ):
        configure(settings, AUTOPROVISION_ORGS=False)
        token = keys["ES256"].sign(claims())
        assert bearer(token).get(groups_url(acme_session)).status_code == 200
        Organization.objects.filter(pk=acme.pk).delete()

        response = bearer(token).get(groups_url(acme_session))

        assert_error(response, 401, "unauthorized")
        assert "does not know" in response.json()["error"]["message"]

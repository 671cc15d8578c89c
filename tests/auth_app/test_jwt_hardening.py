"""Login JWTs a hostile caller crafts: malformed headers and claims are 401, never 500."""

import logging
import time

import pytest

from auth_app.models import Organization
from gateway.throttling import reset_local_windows
from tests.auth_app.test_jwt_authentication import (
    bearer,
    claims,
    configure,
    groups_url,
    unsigned,
)
from tests.factories import OrganizationFactory, WhatsAppSessionFactory
from tests.helpers import assert_error


def refused(token: str, session, message: str) -> None:
    response = bearer(token).get(groups_url(session))
    error = assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert message in error["message"], error["message"]


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestMalformedHeaders:
    @pytest.mark.parametrize(
        "header",
        [
            {"alg": "RS256", "crit": ["zz"]},
            {"alg": "ES256", "kid": "es256-1", "crit": ["exp"]},
            {"alg": "RS256", "kid": 5},
            {"alg": "RS256", "kid": ["rs256-1"]},
            {"alg": "RS256", "kid": {"x": 1}},
        ],
    )
    def test_is_401_invalid_token(self, acme_session, header, caplog):
        token = unsigned(header, claims()) + ".c2lnbmF0dXJl"
        with caplog.at_level(logging.WARNING):
            refused(token, acme_session, "malformed token")
        assert not [r for r in caplog.records if r.exc_info]  # no traceback logged

    def test_a_header_that_is_not_an_object(self, acme_session):
        token = "WzEsMl0.e30.c2ln"  # header: [1,2]
        refused(token, acme_session, "malformed")


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestTimeClaims:
    @pytest.mark.parametrize("value", ["tomorrow", ["x"], {"a": 1}, True, None])
    def test_exp_that_is_not_a_number(self, keys, acme_session, value):
        token = keys["ES256"].sign({**claims(), "exp": value})
        refused(token, acme_session, "'exp' claim must be a number")

    @pytest.mark.parametrize("name", ["nbf", "iat"])
    def test_nbf_and_iat_that_are_not_numbers(self, keys, acme_session, name):
        token = keys["ES256"].sign({**claims(), name: ["x"]})
        refused(token, acme_session, f"'{name}' claim must be a number")

    def test_a_lifetime_over_the_maximum_by_iat(self, keys, acme_session):
        now = int(time.time())
        token = keys["ES256"].sign(claims(iat=now, exp=now + 86400 + 60))
        refused(token, acme_session, "lifetime")

    def test_a_lifetime_over_the_maximum_without_iat(self, keys, acme_session):
        now = int(time.time())
        token = keys["ES256"].sign(claims(iat=None, exp=now + 2 * 86400))
        refused(token, acme_session, "lifetime")

    def test_a_day_is_accepted(self, keys, acme_session):
        now = int(time.time())
        token = keys["ES256"].sign(claims(iat=now, exp=now + 86400))
        assert bearer(token).get(groups_url(acme_session)).status_code == 200

    def test_the_maximum_is_configurable(self, settings, keys, acme_session):
        configure(settings, MAX_LIFETIME_SECONDS=600)
        now = int(time.time())
        token = keys["ES256"].sign(claims(iat=now, exp=now + 900))
        refused(token, acme_session, "lifetime")


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestOrganizationIds:
    @pytest.mark.parametrize(
        "org_id", ["org\u202eevil", "org\u200bzero", "org\nline", "org\x00nul", "\u2066org"]
    )
    def test_control_and_bidi_characters_are_refused_and_nothing_is_provisioned(
        self, keys, db, org_id
    ):
        session = WhatsAppSessionFactory()
        before = Organization.objects.count()
        token = keys["ES256"].sign(claims(org_id=org_id))
        refused(token, session, "control or format characters")
        assert Organization.objects.count() == before


@pytest.mark.django_db
@pytest.mark.usefixtures("jwt_settings")
class TestRateLimitBuckets:
    def test_the_same_sub_in_two_organizations_has_two_budgets(self, settings, keys):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "read": "3/minute"}
        a = OrganizationFactory(external_id="org_a")
        b = OrganizationFactory(external_id="org_b")
        session_a = WhatsAppSessionFactory(organization=a)
        session_b = WhatsAppSessionFactory(organization=b)
        person_a = bearer(keys["ES256"].sign(claims(org_id="org_a", sub="dev-user")))
        person_b = bearer(keys["ES256"].sign(claims(org_id="org_b", sub="dev-user")))
        for _ in range(3):
            assert person_a.get(groups_url(session_a)).status_code == 200
        assert_error(person_a.get(groups_url(session_a)), 429, "rate_limited")
        # Org B's person with the same sub is untouched by org A's.
        assert person_b.get(groups_url(session_b)).status_code == 200

    def test_a_very_long_sub_is_counted_under_a_fixed_length_key(self, settings, keys):
        """A validly signed token may carry any ``sub``: 3,000 characters overflowed the
        counter's key column on PostgreSQL (a 500). The bucket's key is a hash of it."""
        from gateway.models import RateCounter

        settings.REDIS_URL = ""
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "read": "2/minute"}
        org = OrganizationFactory(external_id="org_long")
        session = WhatsAppSessionFactory(organization=org)
        person = bearer(keys["ES256"].sign(claims(org_id="org_long", sub="x" * 3000)))
        assert person.get(groups_url(session)).status_code == 200
        assert person.get(groups_url(session)).status_code == 200
        assert_error(person.get(groups_url(session)), 429, "rate_limited")
        assert RateCounter.objects.exists()
        assert max(len(key) for key in RateCounter.objects.values_list("key", flat=True)) < 100


@pytest.mark.django_db
class TestUnauthenticatedLimit:
    URL = "/api/v1/sessions"

    def test_bad_tokens_from_one_address_get_429_past_the_limit(self, settings, anonymous):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "anonymous": "5/minute"}
        anonymous.credentials(HTTP_AUTHORIZATION="Bearer wag_nonsense")
        statuses = [anonymous.get(self.URL).status_code for _ in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        response = anonymous.get(self.URL)
        error = assert_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) >= 1
        assert error["details"]["retryAfter"] >= 1

    def test_no_token_counts_too(self, settings, anonymous):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "anonymous": "2/minute"}
        assert [anonymous.get(self.URL).status_code for _ in range(3)] == [401, 401, 429]

    def test_another_address_and_valid_keys_are_unaffected(self, settings, anonymous, api):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "anonymous": "2/minute"}
        for _ in range(3):
            anonymous.get(self.URL)
        assert_error(anonymous.get(self.URL), 429, "rate_limited")
        assert anonymous.get(self.URL, REMOTE_ADDR="10.1.2.3").status_code == 401
        assert api.get(self.URL).status_code == 200  # same address, a real key

    def test_the_default_is_120_a_minute(self, anonymous):
        reset_local_windows()
        anonymous.credentials(HTTP_AUTHORIZATION="Bearer wag_nonsense")
        statuses = [anonymous.get(self.URL).status_code for _ in range(121)]
        assert statuses.count(401) == 120 and statuses[-1] == 429

    def test_refusals_are_logged_once_per_address_per_window(self, settings, anonymous, caplog):
        settings.GATEWAY_RATE_LIMITS = {**settings.GATEWAY_RATE_LIMITS, "anonymous": "50/minute"}
        anonymous.credentials(HTTP_AUTHORIZATION="Bearer wag_nonsense")
        with caplog.at_level(logging.INFO):
            for _ in range(200):
                anonymous.get(self.URL)
        lines = [r.getMessage() for r in caplog.records]
        refused = [line for line in lines if "refused a bearer token from 127.0.0.1" in line]
        over = [line for line in lines if "over the limit" in line]
        assert len(refused) == 1 and len(over) == 1
        # Django's own per-response warnings ("Unauthorized: …") are not written.
        assert not [line for line in lines if line.startswith(("Unauthorized", "Too Many"))]
        assert len(lines) <= 3

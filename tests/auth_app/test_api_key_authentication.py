"""Authorization: Bearer <api key> — accepted, refused, and what is stored."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from auth_app import keys, resolution_memory
from auth_app.capabilities import Capability
from auth_app.models import ApiKey
from auth_app.services import api_key_issue, api_key_revoke
from tests.helpers import assert_error


def groups_url(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/groups"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db
class TestAccepted:
    def test_a_valid_key_is_accepted(self, issue_token, org, session):
        assert bearer(issue_token(org, "read")).get(groups_url(session.id)).status_code == 200

    def test_scheme_is_case_insensitive(self, issue_token, org, session):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"bearer {issue_token(org, 'read')}")
        assert client.get(groups_url(session.id)).status_code == 200

    def test_a_key_not_yet_expired_is_accepted(self, issue_token, org, session):
        token = issue_token(org, "read", expires_at=timezone.now() + timedelta(hours=1))
        assert bearer(token).get(groups_url(session.id)).status_code == 200


@pytest.mark.django_db
class TestRefused:
    def assert_invalid_token(self, response, message_part: str) -> None:
        error = assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert message_part in error["message"]

    def test_no_header(self, anonymous, session):
        response = anonymous.get(groups_url(session.id))
        assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == "Bearer"

    def test_other_scheme(self, session, issue_token, org):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(org)}")
        self.assert_invalid_token(client.get(groups_url(session.id)), "Bearer")

    @pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer   "])
    def test_malformed_header(self, session, header):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert_error(client.get(groups_url(session.id)), 401, "unauthorized")

    def test_garbage_token(self, session):
        self.assert_invalid_token(bearer("not-a-key").get(groups_url(session.id)), "bearer token")

    def test_bad_checksum_is_refused_without_a_query(
        self, issue_token, org, session, django_assert_num_queries
    ):
        token = issue_token(org)
        tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
        client = bearer(tampered)
        with django_assert_num_queries(0):
            response = client.get(groups_url(session.id))
        self.assert_invalid_token(response, "invalid API key")

    def test_unknown_key_with_a_valid_checksum(self, session):
        _, token = keys.generate()
        self.assert_invalid_token(bearer(token).get(groups_url(session.id)), "invalid API key")

    def test_right_lookup_id_wrong_secret(self, issue_token, org, session):
        real = issue_token(org)
        lookup_id = keys.parse(real).lookup_id
        _, other = keys.generate()
        body = f"wag_{lookup_id}_{other[len('wag_') + keys.LOOKUP_LENGTH + 1 :][:22]}"
        forged = body + keys._checksum(body)
        assert keys.parse(forged) is not None
        self.assert_invalid_token(bearer(forged).get(groups_url(session.id)), "invalid API key")

    def test_revoked_key(self, org, session):
        issued = api_key_issue(organization=org, capabilities=frozenset({Capability.READ}))
        api_key_revoke(api_key=issued.api_key)
        response = bearer(issued.token).get(groups_url(session.id))
        self.assert_invalid_token(response, "revoked")

    def test_expired_key(self, org, session):
        issued = api_key_issue(
            organization=org,
            capabilities=frozenset({Capability.READ}),
            expires_at=timezone.now() + timedelta(minutes=1),
        )
        ApiKey.objects.filter(pk=issued.api_key.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        self.assert_invalid_token(bearer(issued.token).get(groups_url(session.id)), "expired")

    def test_the_token_is_never_echoed(self, session):
        _, token = keys.generate()
        response = bearer(token).get(groups_url(session.id))
        assert token not in response.content.decode()


@pytest.mark.django_db
class TestStorage:
    def test_only_the_hash_is_stored(self, org):
        issued = api_key_issue(organization=org, capabilities=frozenset({Capability.READ}))
        row = ApiKey.objects.values().get(pk=issued.api_key.pk)
        secret_part = issued.token.split("_", 2)[2]
        for value in row.values():
            assert secret_part not in str(value)
        assert row["secret_hash"] == keys.hash_key(issued.token)

    def test_last_used_is_written_at_most_once_a_minute(self, issue_token, org, session):
        token = issue_token(org, "read")
        client = bearer(token)
        api_key = ApiKey.objects.get()
        assert api_key.last_used_at is None

        client.get(groups_url(session.id))
        first = ApiKey.objects.get().last_used_at
        assert first is not None

        client.get(groups_url(session.id))
        assert ApiKey.objects.get().last_used_at == first

        ApiKey.objects.update(last_used_at=timezone.now() - timedelta(seconds=61))
        # A minute on, the process has long forgotten the key row it remembered.
        resolution_memory.forget_all()
        client.get(groups_url(session.id))
        assert ApiKey.objects.get().last_used_at > first

    def test_revoking_twice_keeps_the_first_time(self, org):
        issued = api_key_issue(organization=org, capabilities=frozenset({Capability.READ}))
        first = api_key_revoke(api_key=issued.api_key).revoked_at
        again = api_key_revoke(api_key=ApiKey.objects.get(pk=issued.api_key.pk)).revoked_at
        assert first is not None and again == first

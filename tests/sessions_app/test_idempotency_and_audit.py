"""Live POSTs leave an audit record; Idempotency-Key makes retries safe (API.md)."""

import pytest

from auth_app.models import ApiKey
from groups_app.models import Group
from sessions_app.models import ActionState, LiveActionRecord
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BODY = {"name": "Team", "participants": [ALICE]}


def create(client, session, body=BODY, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/sessions/{session.id}/groups", body, format="json", **headers)


@pytest.mark.django_db
class TestAudit:
    def test_every_live_post_is_recorded(self, api, session):
        create(api, session)
        assert_error(create(api, session, {"name": ""}), 400, "validation_error")
        api.post(f"/api/v1/sessions/{session.id}/groups/sync")
        records = list(LiveActionRecord.objects.order_by("started_at"))
        assert [(r.action, r.status_code, r.state) for r in records] == [
            ("create_group", 201, ActionState.SUCCEEDED),
            ("create_group", 400, ActionState.FAILED),
            ("sync_groups", 200, ActionState.SUCCEEDED),
        ]
        first = records[0]
        assert first.organization == session.organization
        assert first.session_ref == session.id
        assert first.principal_kind == "api_key"
        assert first.principal_id == str(ApiKey.objects.get().pk)
        assert len(first.fingerprint) == 64
        assert first.duration_ms is not None and first.finished_at is not None
        assert records[1].error_code == "validation_error"

    def test_unknown_session_is_recorded_too(self, api):
        assert_error(create(api, WhatsAppSessionFactory.build()), 404, "not_found")
        assert LiveActionRecord.objects.get().error_code == "not_found"

    def test_reads_are_not_recorded(self, api, session):
        api.get(f"/api/v1/sessions/{session.id}/groups")
        assert not LiveActionRecord.objects.exists()


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_same_key_same_body_replays_without_a_second_group(self, api, session):
        first = create(api, session, key="order-42")
        second = create(api, session, key="order-42")
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert Group.objects.count() == 1

    def test_different_body_is_422(self, api, session):
        create(api, session, key="order-42")
        response = create(api, session, {**BODY, "name": "Other"}, key="order-42")
        assert_error(response, 422, "idempotency_key_reused")
        assert Group.objects.count() == 1

    def test_in_flight_is_409(self, api, session):
        LiveActionRecord.objects.create(
            organization=session.organization,
            session_ref=session.id,
            action="create_group",
            principal_kind="api_key",
            principal_id="1",
            fingerprint="set below",
            idempotency_key="busy",
        )
        # Make the running one the very request sent next (same fingerprint).
        assert create(api, session, key="probe").status_code == 201
        probe = LiveActionRecord.objects.get(idempotency_key="probe")
        LiveActionRecord.objects.filter(idempotency_key="busy").update(
            fingerprint=probe.fingerprint
        )
        assert_error(create(api, session, key="busy"), 409, "idempotency_in_progress")
        assert Group.objects.count() == 1

    def test_keys_are_scoped_to_the_organization(self, api, client_for, other_org, session):
        theirs = WhatsAppSessionFactory(organization=other_org)
        assert create(api, session, key="shared").status_code == 201
        assert create(client_for(other_org), theirs, key="shared").status_code == 201
        assert Group.objects.count() == 2

    def test_errors_are_replayed_too(self, api, session):
        first = create(api, session, {"name": ""}, key="bad-1")
        again = create(api, session, {"name": ""}, key="bad-1")
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"

    def test_runner_failure_releases_the_key(self, api, org):
        from sessions_app.models import Engine

        session = WhatsAppSessionFactory(organization=org, engine=Engine.WHATSAPP)
        assert_error(create(api, session, key="retry-me"), 503, "runner_unavailable")
        record = LiveActionRecord.objects.get()
        assert record.idempotency_key is None  # a retry runs again instead of replaying 503
        assert_error(create(api, session, key="retry-me"), 503, "runner_unavailable")
        assert LiveActionRecord.objects.count() == 2

    def test_unknown_outcome_is_retried_not_replayed(self, api, session):
        """A first attempt that timed out runs again (on the sandbox, which finds nothing
        made; tests/sessions_app/test_whatsapp_engine.py shows the look-first on WhatsApp)."""
        create(api, session, key="timeout-1")
        LiveActionRecord.objects.update(state=ActionState.UNKNOWN, status_code=504)
        retried = create(api, session, key="timeout-1")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried
        assert LiveActionRecord.objects.get().state == ActionState.SUCCEEDED

    def test_expired_keys_can_be_reused(self, api, session):
        from django.utils import timezone

        create(api, session, key="old")
        LiveActionRecord.objects.update(started_at=timezone.now() - timezone.timedelta(hours=25))
        again = create(api, session, {**BODY, "name": "New"}, key="old")
        assert again.status_code == 201
        assert Group.objects.count() == 2
        assert LiveActionRecord.objects.filter(idempotency_key="old").count() == 1

    def test_malformed_key_is_400(self, api, session):
        error = assert_error(create(api, session, key="x" * 300), 400, "validation_error")
        assert "Idempotency-Key" in error["details"]


@pytest.mark.django_db
class TestClaimsOfDeadRequests:
    """A web process killed mid-request leaves its claim ``in_progress``; once the longest
    live call could have ended (plus a margin), a retry takes it over and looks first."""

    def backdate(self, session, key: str, seconds: float) -> None:
        from django.utils import timezone

        # The claim of a request whose process died: started, never finished.
        LiveActionRecord.objects.filter(idempotency_key=key).update(
            state=ActionState.IN_PROGRESS,
            status_code=None,
            finished_at=None,
            started_at=timezone.now() - timezone.timedelta(seconds=seconds),
        )

    def test_a_claim_past_the_longest_call_is_taken_over(self, api, session):
        from sessions_app.audit import stale_claim_after
        from sessions_app.registry import longest_timeout

        stale = stale_claim_after().total_seconds()
        assert stale <= longest_timeout() + 60
        first = create(api, session, key="died")
        assert first.status_code == 201
        Group.objects.all().delete()  # as if the process died before storing it
        self.backdate(session, "died", stale + 1)

        retried = create(api, session, key="died")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried
        record = LiveActionRecord.objects.get(idempotency_key="died")
        assert record.state == ActionState.SUCCEEDED
        assert Group.objects.count() == 1

    def test_a_claim_within_the_longest_call_is_still_in_progress(self, api, session):
        from sessions_app.registry import longest_timeout

        create(api, session, key="running")
        self.backdate(session, "running", longest_timeout() - 5)
        assert_error(create(api, session, key="running"), 409, "idempotency_in_progress")

"""Create-group input built to hurt: huge lists, many bad elements, invisible subjects.

Each case is bounded in what it costs the server and what it leaves in the database.
"""

import hashlib
import json

import pytest

from groups_app.models import Group
from groups_app.rules import MAX_INVITED, SUBJECT_MAX_LENGTH
from sessions_app.audit import KEPT_BODY_BYTES
from sessions_app.models import ActionState, LiveActionRecord
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"


def create(client, session, body, **headers):
    return client.post(f"/api/v1/sessions/{session.id}/groups", body, format="json", **headers)


def digest(body: object) -> str:
    encoded = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


@pytest.mark.django_db
class TestHugeParticipantLists:
    def test_a_hundred_thousand_elements_are_refused_by_length_alone(self, api, session):
        body = {"name": "x", "participants": [0] * 100_000}
        response = create(api, session, body)
        error = assert_error(response, 400, "validation_error")
        # Only the length is reported: no element was validated.
        assert error["details"] == {
            "participants": [f"Ensure this field has no more than {MAX_INVITED} elements."]
        }
        assert len(response.content) < 8 * 1024

    def test_the_audit_record_stays_small(self, api, session):
        body = {"name": "x", "participants": [0] * 100_000}
        create(api, session, body, HTTP_IDEMPOTENCY_KEY="huge-1")
        record = LiveActionRecord.objects.get()
        assert record.status_code == 400 and record.state == ActionState.FAILED
        assert len(json.dumps(record.response_body)) <= KEPT_BODY_BYTES

    def test_at_most_twenty_bad_elements_are_named_and_the_rest_counted(self, api, session):
        participants = [ALICE] + [f"bad-{n}" for n in range(30)]
        error = assert_error(
            create(api, session, {"name": "Team", "participants": participants}),
            400,
            "validation_error",
        )
        named = error["details"]["participants"]
        assert sorted(int(k) for k in named if k != "more") == list(range(1, 21))
        assert named["more"] == ["10 more invalid elements not listed"]

    def test_exactly_twenty_bad_elements_need_no_more_entry(self, api, session):
        participants = [f"bad-{n}" for n in range(20)]
        error = assert_error(
            create(api, session, {"name": "Team", "participants": participants}),
            400,
            "validation_error",
        )
        assert set(error["details"]["participants"]) == {str(n) for n in range(20)}

    def test_a_large_error_is_kept_as_status_code_and_digest_but_replayed(self, api, session):
        body = {"name": "", "participants": [f"bad-{n}" for n in range(MAX_INVITED)]}
        first = create(api, session, body, HTTP_IDEMPOTENCY_KEY="big-error")
        assert_error(first, 400, "validation_error")
        assert len(first.content) > KEPT_BODY_BYTES  # the caller got every detail

        record = LiveActionRecord.objects.get()
        kept = json.dumps(record.response_body)
        assert len(kept) <= KEPT_BODY_BYTES
        assert record.error_code == "validation_error"
        assert record.response_digest == digest(first.json())

        replay = create(api, session, body, HTTP_IDEMPOTENCY_KEY="big-error")
        error = assert_error(replay, 400, "validation_error")
        assert replay["Idempotent-Replayed"] == "true"
        assert "omitted" in error["details"]

    def test_a_success_is_kept_whole_and_replayed_whole(self, api, session):
        body = {"name": "Team", "participants": [ALICE, BOB]}
        first = create(api, session, body, HTTP_IDEMPOTENCY_KEY="ok-1")
        assert first.status_code == 201
        record = LiveActionRecord.objects.get()
        assert record.response_body == first.json()
        assert record.response_digest == digest(first.json())
        replay = create(api, session, body, HTTP_IDEMPOTENCY_KEY="ok-1")
        assert replay.status_code == 201 and replay.json() == first.json()
        assert Group.objects.count() == 1


@pytest.mark.django_db
class TestWholeStringPatterns:
    @pytest.mark.parametrize(
        "jid",
        [f"{ALICE}\n", f"{ALICE}\r\n", f"\n{ALICE}", f"{ALICE} ", f"{ALICE}\x00"],
    )
    def test_a_jid_with_anything_around_it_is_refused(self, api, session, jid):
        error = assert_error(
            create(api, session, {"name": "Team", "participants": [jid]}), 400, "validation_error"
        )
        assert "0" in error["details"]["participants"]
        assert not Group.objects.exists()

    def test_an_organization_slug_with_a_trailing_newline_is_refused(self):
        from auth_app.models import Organization
        from auth_app.services import organization_create
        from gateway.exceptions import InvalidInput

        with pytest.raises(InvalidInput):
            organization_create(slug="acme\n")
        assert not Organization.objects.filter(slug__startswith="acme").exists()


@pytest.mark.django_db
class TestSubjects:
    @pytest.mark.parametrize(
        "name",
        [
            "\u200b",  # zero-width space
            "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner
            "\u202e\u202c",  # bidi override and pop
            "\u2066\u2069\ufeff",  # bidi isolate, byte-order mark
            "\u200b \u2060",  # invisible and a space
        ],
    )
    def test_only_invisible_characters_are_refused(self, api, session, name):
        error = assert_error(
            create(api, session, {"name": name, "participants": [ALICE]}), 400, "validation_error"
        )
        assert "visible" in error["details"]["name"][0]

    @pytest.mark.parametrize("name", ["Team\nB", "Team\tB", "Te\x00am", "Team\x1b[31m", "A\x7f"])
    def test_control_characters_are_refused(self, api, session, name):
        error = assert_error(
            create(api, session, {"name": name, "participants": [ALICE]}), 400, "validation_error"
        )
        message = error["details"]["name"][0]
        assert "control" in message or "Null characters" in message
        assert not Group.objects.exists()

    def test_format_characters_among_visible_ones_are_kept(self, api, session):
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467 Family"  # emoji joined by ZWJ
        response = create(api, session, {"name": family, "participants": [ALICE]})
        assert response.status_code == 201, response.content
        assert response.json()["subject"] == family

    @pytest.mark.parametrize("length", [26, 64, SUBJECT_MAX_LENGTH])
    def test_names_up_to_a_hundred_characters_are_accepted(self, api, session, length):
        assert SUBJECT_MAX_LENGTH == 100
        response = create(api, session, {"name": "x" * length, "participants": [ALICE]})
        assert response.status_code == 201, response.content

    def test_length_counts_code_points(self, api, session):
        # 100 emoji are 100 code points (400 bytes in UTF-8, 200 UTF-16 units): accepted.
        response = create(api, session, {"name": "\U0001f600" * 100, "participants": [ALICE]})
        assert response.status_code == 201, response.content
        over = create(api, session, {"name": "\U0001f600" * 101, "participants": [ALICE]})
        assert_error(over, 400, "validation_error")

"""POST /api/v1/sessions/{session}/groups — every clause of the seed page."""

import pytest

from groups_app.models import Group, GroupParticipant
from groups_app.rules import MAX_INVITED, SUBJECT_MAX_LENGTH
from sessions_app.engines.sandbox import GROUP_JID_PREFIX
from sessions_app.models import Engine
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"
PRIVATE = "15554030001@s.whatsapp.net"  # sandbox: privacy settings forbid adding
NOBODY = "15554040001@s.whatsapp.net"  # sandbox: not on WhatsApp

GROUP_INFO_KEYS = {
    "groupJid",
    "subject",
    "description",
    "ownerJid",
    "isAnnounce",
    "isLocked",
    "participants",
}


def url(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/groups"


def create(client, session_id, body, **kwargs):
    return client.post(url(session_id), body, format="json", **kwargs)


@pytest.mark.django_db
class TestCreated:
    def test_201_with_exactly_the_group_info_keys_and_types(self, api, session):
        response = create(api, session.id, {"name": "Team", "participants": [ALICE, BOB]})

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == GROUP_INFO_KEYS
        assert body["groupJid"].startswith(GROUP_JID_PREFIX)
        assert body["groupJid"].endswith("@g.us")
        assert body["subject"] == "Team"
        assert body["description"] == ""
        assert body["ownerJid"] == session.jid
        assert body["isAnnounce"] is False
        assert body["isLocked"] is False
        assert body["participants"] == 3  # the owner and both invitees

    def test_new_group_is_listed_immediately(self, api, session):
        created = create(api, session.id, {"name": "Team", "participants": [ALICE]}).json()

        listed = api.get(url(session.id)).json()["results"]

        assert listed == [created]

    def test_new_group_is_stored_with_its_participants(self, api, session):
        body = create(api, session.id, {"name": "Team", "participants": [ALICE, BOB]}).json()

        group = Group.objects.get(session=session, jid=body["groupJid"])
        assert group.subject == "Team"
        assert group.owner_jid == session.jid
        stored = {p.jid: p for p in group.participants.all()}
        assert set(stored) == {session.jid, ALICE, BOB}
        assert stored[session.jid].is_super_admin and stored[session.jid].is_admin
        assert stored[ALICE].add_error == 0 and not stored[ALICE].is_admin

    def test_two_calls_create_two_distinct_groups(self, api, session):
        body = {"name": "Team", "participants": [ALICE]}
        first = create(api, session.id, body).json()
        second = create(api, session.id, body).json()

        assert first["groupJid"] != second["groupJid"]
        assert Group.objects.filter(session=session).count() == 2

    def test_name_is_trimmed(self, api, session):
        body = create(api, session.id, {"name": "  Team  ", "participants": [ALICE]}).json()
        assert body["subject"] == "Team"

    def test_name_at_whatsapps_limit_is_accepted(self, api, session):
        name = "x" * SUBJECT_MAX_LENGTH
        response = create(api, session.id, {"name": name, "participants": [ALICE]})
        assert response.status_code == 201
        assert response.json()["subject"] == name

    def test_duplicates_are_collapsed_and_own_number_dropped(self, api, session):
        response = create(
            api, session.id, {"name": "Team", "participants": [ALICE, ALICE, session.jid, BOB]}
        )

        assert response.json()["participants"] == 3
        group = Group.objects.get(jid=response.json()["groupJid"])
        jids = list(GroupParticipant.objects.filter(group=group).values_list("jid", flat=True))
        assert sorted(jids) == sorted([session.jid, ALICE, BOB])

    def test_skipped_numbers_are_not_counted_but_stored_with_their_result(self, api, session):
        response = create(
            api, session.id, {"name": "Team", "participants": [ALICE, PRIVATE, NOBODY]}
        )

        assert response.status_code == 201
        assert response.json()["participants"] == 2  # owner + ALICE
        group = Group.objects.get(jid=response.json()["groupJid"])
        assert group.participant_count == 2
        private = group.participants.get(jid=PRIVATE)
        assert private.add_error == 403
        assert private.add_result == "needs invite (privacy settings)"
        assert private.invite_code and private.invite_expires_at is not None
        assert group.participants.get(jid=NOBODY).add_error == 404

    def test_trailing_slash_is_accepted(self, api, session):
        response = api.post(
            url(session.id) + "/", {"name": "Team", "participants": [ALICE]}, format="json"
        )
        assert response.status_code == 201

    def test_lowercase_session_id_finds_the_session(self, api, session):
        response = create(api, session.id.lower(), {"name": "Team", "participants": [ALICE]})
        assert response.status_code == 201


@pytest.mark.django_db
class TestValidation:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"participants": [ALICE]}, "name"),
            ({"name": "", "participants": [ALICE]}, "name"),
            ({"name": "   \t ", "participants": [ALICE]}, "name"),
            ({"name": 42, "participants": [ALICE]}, "name"),
            ({"name": True, "participants": [ALICE]}, "name"),
            ({"name": ["Team"], "participants": [ALICE]}, "name"),
            ({"name": None, "participants": [ALICE]}, "name"),
            ({"name": "x" * (SUBJECT_MAX_LENGTH + 1), "participants": [ALICE]}, "name"),
            ({"name": "Team"}, "participants"),
            ({"name": "Team", "participants": []}, "participants"),
            ({"name": "Team", "participants": ALICE}, "participants"),
            ({"name": "Team", "participants": None}, "participants"),
            ({"name": "Team", "participants": {"0": ALICE}}, "participants"),
        ],
    )
    def test_400_names_the_field(self, api, session, body, field):
        error = assert_error(create(api, session.id, body), 400, "validation_error")

        assert field in error["details"]
        assert isinstance(error["details"][field], list)
        assert not Group.objects.exists()

    @pytest.mark.parametrize(
        "bad",
        [
            "+15551234567@s.whatsapp.net",
            "15551234567",
            "15551234567@g.us",
            "1234@s.whatsapp.net",
            "05551234567@s.whatsapp.net",
            "1555123456789012345678@s.whatsapp.net",
            " 15551234567@s.whatsapp.net",
            "15551234567@S.WHATSAPP.NET",
            "",
            12345678901,
            None,
        ],
    )
    def test_malformed_jid_is_named_by_its_index(self, api, session, bad):
        body = {"name": "Team", "participants": [ALICE, BOB, bad]}

        error = assert_error(create(api, session.id, body), 400, "validation_error")

        assert set(error["details"]) == {"participants"}
        assert set(error["details"]["participants"]) == {"2"}
        assert isinstance(error["details"]["participants"]["2"], list)

    def test_every_bad_field_is_reported_at_once(self, api, session):
        error = assert_error(
            create(api, session.id, {"name": "", "participants": []}), 400, "validation_error"
        )
        assert set(error["details"]) == {"name", "participants"}

    def test_only_the_sessions_own_number_is_no_participant(self, api, session):
        body = {"name": "Team", "participants": [session.jid, session.jid]}
        error = assert_error(create(api, session.id, body), 400, "validation_error")
        assert "participants" in error["details"]

    def test_more_than_the_group_size_limit_is_rejected(self, api, session):
        many = [f"1555{n:07d}@s.whatsapp.net" for n in range(MAX_INVITED + 1)]
        error = assert_error(
            create(api, session.id, {"name": "Big", "participants": many}), 400, "validation_error"
        )
        assert "participants" in error["details"]

    def test_duplicates_collapse_within_the_entry_limit(self, api, session):
        distinct = [f"1555{n:07d}@s.whatsapp.net" for n in range(MAX_INVITED - 10)]
        body = {"name": "Big", "participants": distinct + distinct[:10]}
        assert len(body["participants"]) == MAX_INVITED
        response = create(api, session.id, body)
        assert response.status_code == 201
        assert response.json()["participants"] == MAX_INVITED - 10 + 1

    def test_the_entry_limit_applies_before_duplicates_collapse(self, api, session):
        # The list's length is checked before any element is looked at.
        distinct = [f"1555{n:07d}@s.whatsapp.net" for n in range(MAX_INVITED)]
        body = {"name": "Big", "participants": [*distinct, distinct[0]]}
        error = assert_error(create(api, session.id, body), 400, "validation_error")
        assert error["details"]["participants"] == [
            f"Ensure this field has no more than {MAX_INVITED} elements."
        ]

    def test_missing_body_is_a_validation_error(self, api, session):
        response = api.post(url(session.id), content_type="application/json")
        error = assert_error(response, 400, "validation_error")
        assert set(error["details"]) == {"name", "participants"}

    def test_body_that_is_not_an_object(self, api, session):
        error = assert_error(create(api, session.id, [ALICE]), 400, "validation_error")
        assert "body" in error["details"]

    def test_malformed_json_is_400(self, api, session):
        response = api.post(
            url(session.id), data='{"name": "Team",', content_type="application/json"
        )
        error = assert_error(response, 400, "validation_error")
        assert "JSON" in error["message"]

    def test_nan_is_not_json(self, api, session):
        response = api.post(
            url(session.id),
            data='{"name": NaN, "participants": []}',
            content_type="application/json",
        )
        assert_error(response, 400, "validation_error")

    def test_invalid_utf8_is_400(self, api, session):
        response = api.post(
            url(session.id), data=b'{"name": "\xff"}', content_type="application/json"
        )
        assert_error(response, 400, "validation_error")

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
        ],
    )
    def test_non_json_content_type_is_415(self, api, session, content_type):
        response = api.post(url(session.id), data="name=Team", content_type=content_type)
        assert_error(response, 415, "unsupported_media_type")
        assert not Group.objects.exists()

    def test_body_without_content_type_is_415(self, api, session):
        response = api.generic("POST", url(session.id), data=b'{"name": "Team"}', content_type="")
        assert_error(response, 415, "unsupported_media_type")

    def test_json_with_charset_is_accepted(self, api, session):
        response = api.post(
            url(session.id),
            data=f'{{"name": "Team", "participants": ["{ALICE}"]}}',
            content_type="application/json; charset=utf-8",
        )
        assert response.status_code == 201

    def test_body_over_the_limit_is_413(self, api, session, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        body = {"name": "Team", "participants": [ALICE] * 200}
        assert_error(create(api, session.id, body), 413, "payload_too_large")


@pytest.mark.django_db
class TestNotFound:
    def test_unknown_session(self, api):
        error = assert_error(
            create(api, "01HZ0SESSION0000000000000Z", {"name": "T", "participants": [ALICE]}),
            404,
            "not_found",
        )
        assert error["message"] == "session not found"

    def test_not_a_session_id(self, api):
        assert_error(create(api, "nope", {"name": "T", "participants": [ALICE]}), 404, "not_found")

    def test_another_organizations_session_is_indistinguishable(self, api, other_org):
        theirs = WhatsAppSessionFactory(organization=other_org)
        body = {"name": "T", "participants": [ALICE]}

        foreign = create(api, theirs.id, body)
        missing = create(api, "01HZ0SESSION0000000000000Z", body)

        assert_error(foreign, 404, "not_found")
        assert foreign.json() == missing.json()
        assert not Group.objects.exists()

    def test_404_comes_before_body_validation(self, api):
        response = create(api, "01HZ0SESSION0000000000000Z", {"name": ""})
        assert_error(response, 404, "not_found")


@pytest.mark.django_db
class TestNotConnected:
    @pytest.mark.parametrize("trait", ["fresh", "disconnected"])
    def test_501_when_the_session_is_not_connected(self, api, org, trait):
        session = WhatsAppSessionFactory(organization=org, **{trait: True})
        error = assert_error(
            create(api, session.id, {"name": "Team", "participants": [ALICE]}),
            501,
            "not_implemented",
        )
        assert error["message"] == "session is not connected"
        assert error["details"]["status"] == session.status
        assert not Group.objects.exists()

    def test_body_is_validated_before_the_connection(self, api, org):
        session = WhatsAppSessionFactory(organization=org, disconnected=True)
        assert_error(create(api, session.id, {"name": ""}), 400, "validation_error")

    def test_whatsapp_session_without_the_runner_is_503(self, api, org):
        session = WhatsAppSessionFactory(organization=org, engine=Engine.WHATSAPP)
        error = assert_error(
            create(api, session.id, {"name": "Team", "participants": [ALICE]}),
            503,
            "runner_unavailable",
        )
        assert "runner" in error["message"]
        assert not Group.objects.exists()


@pytest.mark.django_db
class TestAccess:
    def test_401_without_a_token(self, anonymous, session):
        response = create(anonymous, session.id, {"name": "T", "participants": [ALICE]})
        assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == "Bearer"

    def test_403_without_send(self, client_for, org, session):
        response = create(
            client_for(org, "read,manage"), session.id, {"name": "T", "participants": [ALICE]}
        )
        error = assert_error(response, 403, "forbidden")
        assert error["details"] == {"required": "send"}
        assert not Group.objects.exists()

    def test_403_comes_before_404(self, client_for, org):
        response = create(client_for(org, "read"), "01HZ0SESSION0000000000000Z", {})
        assert_error(response, 403, "forbidden")

    def test_send_alone_suffices(self, client_for, org, session):
        response = create(
            client_for(org, "send"), session.id, {"name": "T", "participants": [ALICE]}
        )
        assert response.status_code == 201


@pytest.mark.django_db
def test_query_count_is_pinned(api, session, django_assert_num_queries):
    body = {"name": "Team", "participants": [ALICE, BOB, PRIVATE]}
    # The first call starts the session in the (in-process) runner and writes the key's
    # last use; those belong to the runner and to once-a-minute bookkeeping.
    assert create(api, session.id, body).status_code == 201
    # The rate-limit counter (the key is remembered from the first call), the audit record
    # (insert, then its outcome), session, and the upsert in a transaction (savepoint,
    # insert-or-update, participants delete + insert, release), and in it the organization's
    # webhook endpoints (the outbox records a group.created event when one wants it; none
    # does here); and whether the store has the group already (WhatsApp's own JoinedGroup
    # event can store it before the call answers, and announced it then: one event).
    # Around the call, the organization's share (sessions_app.live_limits): a live-call
    # slot taken (savepoint, the organization's row locked, the slots counted, one
    # inserted, release) and given back (delete), and the participants counted (upsert).
    with django_assert_num_queries(18):
        assert create(api, session.id, body).status_code == 201

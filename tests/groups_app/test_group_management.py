"""Group management through the API on the sandbox (API.md, "Group management")."""

import pytest

from groups_app.models import Group, GroupParticipant
from sessions_app.models import SessionStatus
from tests.factories import GroupFactory, GroupParticipantFactory, WhatsAppSessionFactory
from tests.helpers import assert_error

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"
PRIVATE = "15554030001@s.whatsapp.net"  # sandbox: privacy settings forbid adding
NOBODY = "15554040001@s.whatsapp.net"  # sandbox: not on WhatsApp


def groups_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/groups"


@pytest.fixture
def group_jid(api, session) -> str:
    response = api.post(
        groups_url(session), {"name": "Team", "participants": [ALICE, PRIVATE]}, format="json"
    )
    assert response.status_code == 201
    return response.json()["groupJid"]


def members(api, session, jid) -> dict[str, str]:
    response = api.get(f"{groups_url(session)}/{jid}/participants")
    assert response.status_code == 200, response.content
    return {row["jid"]: row["role"] for row in response.json()["results"]}


def change(api, session, jid, action, people, **headers):
    return api.post(
        f"{groups_url(session)}/{jid}/participants",
        {"action": action, "participants": people},
        format="json",
        **headers,
    )


@pytest.mark.django_db
class TestParticipants:
    def test_stored_members_with_roles_and_not_the_refused(self, api, session, group_jid):
        assert members(api, session, group_jid) == {session.jid: "superadmin", ALICE: "member"}

    @pytest.mark.parametrize("action", ["remove", "demote"])
    def test_the_sessions_own_number_cannot_be_removed_or_demoted(
        self, api, session, group_jid, action
    ):
        """That would lock the gateway out of the group it runs (leaving is its own call);
        nothing is asked of WhatsApp and nothing changes."""
        error = assert_error(
            change(api, session, group_jid, action, [ALICE, session.jid]), 400, "validation_error"
        )
        assert "own number" in error["details"]["participants"][0]
        assert members(api, session, group_jid) == {session.jid: "superadmin", ALICE: "member"}

    def test_add_reports_each_outcome_and_stores_it(self, api, session, group_jid):
        response = change(api, session, group_jid, "add", [BOB, PRIVATE, NOBODY, ALICE, BOB])
        assert response.status_code == 200, response.content
        results = {row["jid"]: row for row in response.json()["results"]}
        assert list(results) == [BOB, PRIVATE, NOBODY, ALICE]  # duplicates collapsed
        assert results[BOB]["result"] == "added" and results[BOB]["errorCode"] is None
        assert results[PRIVATE]["result"] == "needs_invite"
        assert results[PRIVATE]["errorCode"] == 403 and results[PRIVATE]["inviteCode"]
        assert results[PRIVATE]["inviteExpiresAt"]
        assert results[NOBODY]["result"] == "not_on_whatsapp"
        assert results[ALICE]["result"] == "already_member"
        assert members(api, session, group_jid) == {
            session.jid: "superadmin",
            ALICE: "member",
            BOB: "member",
        }
        group = api.get(f"{groups_url(session)}/{group_jid}").json()
        assert group["participants"] == 3

    def test_re_adding_neither_duplicates_nor_recounts(self, api, session, group_jid):
        change(api, session, group_jid, "add", [BOB])
        again = change(api, session, group_jid, "add", [BOB])
        assert again.json()["results"][0]["result"] == "already_member"
        assert GroupParticipant.objects.filter(group__jid=group_jid, jid=BOB).count() == 1
        assert api.get(f"{groups_url(session)}/{group_jid}").json()["participants"] == 3

    def test_promote_demote_remove(self, api, session, group_jid):
        promoted = change(api, session, group_jid, "promote", [ALICE]).json()["results"]
        assert promoted == [
            {
                "jid": ALICE,
                "result": "promoted",
                "errorCode": None,
                "inviteCode": "",
                "inviteExpiresAt": None,
            }
        ]
        assert members(api, session, group_jid)[ALICE] == "admin"
        change(api, session, group_jid, "demote", [ALICE])
        assert members(api, session, group_jid)[ALICE] == "member"
        removed = change(api, session, group_jid, "remove", [ALICE]).json()["results"]
        assert removed[0]["result"] == "removed"
        assert ALICE not in members(api, session, group_jid)
        again = change(api, session, group_jid, "remove", [ALICE]).json()["results"]
        assert again[0]["result"] == "not_member"

    def test_not_admin_is_409(self, api, session):
        group = GroupFactory(session=session)
        GroupParticipantFactory(group=group, jid=session.jid, is_admin=False)
        error = assert_error(change(api, session, group.jid, "add", [BOB]), 409, "conflict")
        assert error["details"]["reason"] == "not_admin"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"action": "kick", "participants": [BOB]}, "action"),
            ({"action": "add", "participants": []}, "participants"),
            ({"action": "add", "participants": ["+1 555"]}, "participants"),
            ({"action": "add"}, "participants"),
        ],
    )
    def test_bad_bodies_are_400_and_change_nothing(self, api, session, group_jid, body, field):
        before = members(api, session, group_jid)
        response = api.post(f"{groups_url(session)}/{group_jid}/participants", body, format="json")
        error = assert_error(response, 400, "validation_error")
        assert field in error["details"]
        assert members(api, session, group_jid) == before

    def test_an_idempotent_retry_is_replayed(self, api, session, group_jid):
        first = change(api, session, group_jid, "add", [BOB], HTTP_IDEMPOTENCY_KEY="add-bob")
        again = change(api, session, group_jid, "add", [BOB], HTTP_IDEMPOTENCY_KEY="add-bob")
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
class TestUpdate:
    def patch(self, api, session, jid, body):
        return api.patch(f"{groups_url(session)}/{jid}", body, format="json")

    def test_every_field_is_applied_and_stored(self, api, session, group_jid):
        body = {
            "subject": "Renamed",
            "description": "Our team",
            "isAnnounce": True,
            "isLocked": True,
        }
        response = self.patch(api, session, group_jid, body)
        assert response.status_code == 200, response.content
        info = response.json()
        assert (info["subject"], info["description"], info["isAnnounce"], info["isLocked"]) == (
            "Renamed",
            "Our team",
            True,
            True,
        )
        assert api.get(f"{groups_url(session)}/{group_jid}").json() == info

    def test_an_empty_description_clears_it(self, api, session, group_jid):
        self.patch(api, session, group_jid, {"description": "x"})
        response = self.patch(api, session, group_jid, {"description": ""})
        assert response.json()["description"] == ""

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"isAnnounce": "true"},
            {"isLocked": 1},
            {"subject": ""},
            {"subject": "x" * 101},
            {"description": "x" * 2049},
            {"subject": "Fine", "isLocked": "yes"},  # one bad field: nothing changes
        ],
    )
    def test_a_rejected_patch_changes_nothing(self, api, session, group_jid, body):
        before = api.get(f"{groups_url(session)}/{group_jid}").json()
        assert_error(self.patch(api, session, group_jid, body), 400, "validation_error")
        assert api.get(f"{groups_url(session)}/{group_jid}").json() == before

    def test_not_admin_is_409(self, api, session):
        group = GroupFactory(session=session)
        GroupParticipantFactory(group=group, jid=session.jid, is_admin=False)
        error = assert_error(self.patch(api, session, group.jid, {"subject": "X"}), 409, "conflict")
        assert error["details"]["reason"] == "not_admin"
        group.refresh_from_db()
        assert group.subject != "X"


@pytest.mark.django_db
class TestInviteAndLeave:
    def test_the_code_is_stable_until_revoked(self, api, session, group_jid):
        url = f"{groups_url(session)}/{group_jid}/invite"
        first = api.get(url).json()
        assert first["url"] == f"https://chat.whatsapp.com/{first['code']}"
        assert api.get(url).json() == first
        revoked = api.post(f"{url}/revoke")
        assert revoked.status_code == 200
        assert revoked.json()["code"] != first["code"]
        assert api.get(url).json() == revoked.json()

    def test_leave_removes_the_stored_group(self, api, session, group_jid):
        response = api.post(f"{groups_url(session)}/{group_jid}/leave")
        assert response.status_code == 204
        assert not Group.objects.filter(jid=group_jid).exists()
        assert_error(api.get(f"{groups_url(session)}/{group_jid}"), 404, "not_found")


@pytest.mark.django_db
class TestCommonErrors:
    OPERATIONS = [
        ("patch", "", {"subject": "X"}),
        ("post", "/participants", {"action": "add", "participants": [BOB]}),
        ("get", "/invite", None),
        ("post", "/invite/revoke", None),
        ("post", "/leave", None),
        ("put", "/picture", {"image": "/9j/4AAQ"}),  # a JPEG's first bytes, base64
        ("get", "/join-requests", None),
    ]

    def call(self, client, session, jid, method, suffix, body):
        url = f"{groups_url(session)}/{jid}{suffix}"
        if body is None:
            return getattr(client, method)(url)
        return getattr(client, method)(url, body, format="json")

    @pytest.mark.parametrize(("method", "suffix", "body"), OPERATIONS)
    def test_unknown_group_is_404(self, api, session, method, suffix, body):
        response = self.call(api, session, "120363999999999999@g.us", method, suffix, body)
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize(("method", "suffix", "body"), OPERATIONS)
    def test_another_organizations_group_is_404(
        self, client_for, other_org, session, group_jid, method, suffix, body
    ):
        theirs = client_for(other_org)
        assert_error(self.call(theirs, session, group_jid, method, suffix, body), 404, "not_found")

    @pytest.mark.parametrize(("method", "suffix", "body"), OPERATIONS)
    def test_read_only_keys_are_403(
        self, client_for, org, session, group_jid, method, suffix, body
    ):
        reader = client_for(org, "read")
        error = assert_error(
            self.call(reader, session, group_jid, method, suffix, body), 403, "forbidden"
        )
        assert error["details"]["required"] == "send"

    @pytest.mark.parametrize(("method", "suffix", "body"), OPERATIONS)
    def test_a_session_not_connected_is_501_and_reads_still_work(
        self, api, org, method, suffix, body
    ):
        offline = WhatsAppSessionFactory(organization=org, status=SessionStatus.LOGGED_OUT)
        group = GroupFactory(session=offline)
        GroupParticipantFactory(group=group, jid=offline.jid, is_admin=True)
        assert_error(
            self.call(api, offline, group.jid, method, suffix, body), 501, "not_implemented"
        )
        listed = api.get(f"{groups_url(offline)}/{group.jid}/participants")
        assert listed.status_code == 200
        assert listed.json()["results"] == [{"jid": offline.jid, "role": "admin"}]


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100


@pytest.mark.django_db
class TestPictureJoinAndInvites:
    def put_picture(self, api, session, jid, image):
        return api.put(f"{groups_url(session)}/{jid}/picture", {"image": image}, format="json")

    def test_a_jpeg_is_set(self, api, session, group_jid):
        import base64

        response = self.put_picture(api, session, group_jid, base64.b64encode(JPEG).decode())
        assert response.status_code == 200, response.content
        assert response.json()["pictureId"]

    @pytest.mark.parametrize(
        ("image", "message"),
        [("not base64!", "not base64"), ("aGVsbG8=", "not a JPEG"), ("", "blank")],
    )
    def test_not_a_jpeg_is_400(self, api, session, group_jid, image, message):
        error = assert_error(
            self.put_picture(api, session, group_jid, image), 400, "validation_error"
        )
        assert "image" in error["details"]

    def test_a_large_jpeg_within_the_route_limit_is_accepted(self, api, session, group_jid):
        import base64

        image = base64.b64encode(JPEG + b"\x00" * (900 * 1024)).decode()  # > the general limit
        assert len(image) > 256 * 1024
        assert self.put_picture(api, session, group_jid, image).status_code == 200

    def test_over_one_mebibyte_is_413(self, api, session, group_jid):
        import base64

        image = base64.b64encode(JPEG + b"\x00" * (1024 * 1024)).decode()
        response = self.put_picture(api, session, group_jid, image)
        error = assert_error(response, 413, "payload_too_large")
        assert error["message"]

    def test_nobody_asks_to_join_a_sandbox_group(self, api, session, group_jid):
        response = api.get(f"{groups_url(session)}/{group_jid}/join-requests")
        assert response.status_code == 200
        assert response.json() == {"results": []}

    def test_another_session_joins_by_code_and_a_revoked_code_stops_working(
        self, api, org, session, group_jid
    ):
        other = WhatsAppSessionFactory(organization=org)
        invite = api.get(f"{groups_url(session)}/{group_jid}/invite").json()

        preview = api.get(f"{groups_url(other)}/invite-info", {"code": invite["url"]})
        assert preview.status_code == 200, preview.content
        assert preview.json()["groupJid"] == group_jid
        assert not Group.objects.filter(session=other).exists()  # a preview stores nothing

        joined = api.post(f"{groups_url(other)}/join", {"code": invite["code"]}, format="json")
        assert joined.status_code == 200, joined.content
        assert joined.json()["groupJid"] == group_jid
        assert members(api, other, group_jid)[other.jid] == "member"

        api.post(f"{groups_url(session)}/{group_jid}/invite/revoke")
        third = WhatsAppSessionFactory(organization=org)
        stale = api.post(f"{groups_url(third)}/join", {"code": invite["code"]}, format="json")
        assert_error(stale, 404, "not_found")
        preview = api.get(f"{groups_url(third)}/invite-info", {"code": invite["code"]})
        assert_error(preview, 404, "not_found")

    @pytest.mark.parametrize("code", ["", "a b", "x" * 300, "<script>"])
    def test_a_malformed_code_is_400(self, api, session, code):
        response = api.post(f"{groups_url(session)}/join", {"code": code}, format="json")
        assert_error(response, 400, "validation_error")


@pytest.mark.django_db
def test_a_picture_body_over_the_route_limit_is_413(api, session, group_jid):
    body = '{"image": "' + "A" * (1_500_000) + '"}'
    response = api.put(
        f"{groups_url(session)}/{group_jid}/picture", body, content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.django_db
def test_the_admin_group_page_shows_roles_and_add_results(api, session, group_jid, admin_client):
    change(api, session, group_jid, "promote", [ALICE])
    group = Group.objects.get(jid=group_jid)
    page = admin_client.get(f"/admin/groups_app/group/{group.pk}/change/").content.decode()
    assert "superadmin" in page and "admin" in page
    assert "needs invite (privacy settings)" in page  # PRIVATE's add result


@pytest.mark.django_db
class TestSessionLevelErrors:
    """join and invite-info act on a session, not on a stored group."""

    def join(self, client, session):
        return client.post(f"{groups_url(session)}/join", {"code": "AbCdEf123"}, format="json")

    def preview(self, client, session):
        return client.get(f"{groups_url(session)}/invite-info", {"code": "AbCdEf123"})

    @pytest.mark.parametrize("operation", ["join", "preview"])
    def test_another_organizations_session_is_404(self, client_for, other_org, session, operation):
        assert_error(getattr(self, operation)(client_for(other_org), session), 404, "not_found")

    @pytest.mark.parametrize("operation", ["join", "preview"])
    def test_read_only_keys_are_403(self, client_for, org, session, operation):
        error = assert_error(
            getattr(self, operation)(client_for(org, "read"), session), 403, "forbidden"
        )
        assert error["details"]["required"] == "send"

    @pytest.mark.parametrize("operation", ["join", "preview"])
    def test_a_session_not_connected_is_501(self, api, org, operation):
        offline = WhatsAppSessionFactory(organization=org, status=SessionStatus.DISCONNECTED)
        assert_error(getattr(self, operation)(api, offline), 501, "not_implemented")

    def test_an_unknown_code_is_404(self, api, session):
        assert_error(self.join(api, session), 404, "not_found")
        assert_error(self.preview(api, session), 404, "not_found")

    def test_a_join_retried_with_its_key_is_replayed(self, api, org, session, group_jid):
        code = api.get(f"{groups_url(session)}/{group_jid}/invite").json()["code"]
        other = WhatsAppSessionFactory(organization=org)
        url = f"{groups_url(other)}/join"
        first = api.post(url, {"code": code}, format="json", HTTP_IDEMPOTENCY_KEY="j-1")
        again = api.post(url, {"code": code}, format="json", HTTP_IDEMPOTENCY_KEY="j-1")
        assert first.status_code == 200 and again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"

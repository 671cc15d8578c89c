"""GET /api/v1/sessions/{session}/groups and .../groups/{groupJid}."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.factories import GroupFactory, WhatsAppSessionFactory
from tests.helpers import assert_error


def list_url(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/groups"


@pytest.mark.django_db
class TestList:
    def test_cursor_page_shape_newest_first(self, api, session):
        older = GroupFactory(session=session, subject="Older", participant_count=4)
        newer = GroupFactory(session=session, subject="Newer", is_announce=True)

        body = api.get(list_url(session.id)).json()

        assert set(body) == {"next", "previous", "nextCursor", "previousCursor", "results"}
        assert body["next"] is None and body["previous"] is None
        assert body["nextCursor"] is None and body["previousCursor"] is None
        assert [g["groupJid"] for g in body["results"]] == [newer.jid, older.jid]
        assert body["results"][1] == {
            "groupJid": older.jid,
            "subject": "Older",
            "description": "",
            "ownerJid": session.jid,
            "isAnnounce": False,
            "isLocked": False,
            "participants": 4,
        }
        assert body["results"][0]["isAnnounce"] is True

    def test_works_while_disconnected(self, api, org):
        session = WhatsAppSessionFactory(organization=org, disconnected=True)
        group = GroupFactory(session=session)
        body = api.get(list_url(session.id)).json()
        assert [g["groupJid"] for g in body["results"]] == [group.jid]

    def test_only_this_sessions_groups(self, api, session, org):
        mine = GroupFactory(session=session)
        GroupFactory(session=WhatsAppSessionFactory(organization=org))
        body = api.get(list_url(session.id)).json()
        assert [g["groupJid"] for g in body["results"]] == [mine.jid]

    def test_pages_follow_the_cursor(self, api, session):
        groups = [GroupFactory(session=session) for _ in range(5)]
        expected = [g.jid for g in reversed(groups)]

        seen: list[str] = []
        url = list_url(session.id) + "?limit=2"
        pages = 0
        while url:
            body = api.get(url).json()
            seen += [g["groupJid"] for g in body["results"]]
            url = body["next"]
            pages += 1

        assert seen == expected
        assert pages == 3

    def test_the_cursors_walk_both_ways_without_reading_links(self, api, session):
        """A generated client passes `cursor` itself: nextCursor and previousCursor are
        the values the links carry."""
        groups = [GroupFactory(session=session) for _ in range(5)]
        expected = [g.jid for g in reversed(groups)]

        forward: list[str] = []
        body = api.get(list_url(session.id), {"limit": 2}).json()
        forward += [g["groupJid"] for g in body["results"]]
        while body["nextCursor"]:
            assert parse_qs(urlsplit(body["next"]).query)["cursor"] == [body["nextCursor"]]
            body = api.get(list_url(session.id), {"limit": 2, "cursor": body["nextCursor"]})
            body = body.json()
            forward += [g["groupJid"] for g in body["results"]]
        assert forward == expected
        assert body["next"] is None

        backward = [g["groupJid"] for g in body["results"]]
        while body["previousCursor"]:
            query = {"limit": 2, "cursor": body["previousCursor"]}
            body = api.get(list_url(session.id), query).json()
            backward = [g["groupJid"] for g in body["results"]] + backward
        assert backward == expected
        assert body["previous"] is None

    def test_page_size_is_capped(self, api, session):
        GroupFactory.create_batch(205, session=session)
        body = api.get(list_url(session.id) + "?limit=1000").json()
        assert len(body["results"]) == 200
        assert body["next"] is not None

    def test_invalid_cursor_is_400(self, api, session):
        error = assert_error(
            api.get(list_url(session.id) + "?cursor=garbage"), 400, "validation_error"
        )
        assert "cursor" in error["details"]

    def test_read_suffices(self, client_for, org, session):
        assert client_for(org, "read").get(list_url(session.id)).status_code == 200

    def test_403_without_read(self, client_for, org, session):
        error = assert_error(
            client_for(org, "send,manage").get(list_url(session.id)), 403, "forbidden"
        )
        assert error["details"] == {"required": "read"}

    def test_401_without_a_token(self, anonymous, session):
        assert_error(anonymous.get(list_url(session.id)), 401, "unauthorized")

    def test_another_organizations_session_is_404(self, api, other_org):
        theirs = WhatsAppSessionFactory(organization=other_org)
        GroupFactory(session=theirs)
        foreign = api.get(list_url(theirs.id))
        missing = api.get(list_url("01HZ0SESSION0000000000000Z"))
        assert_error(foreign, 404, "not_found")
        assert foreign.json() == missing.json()

    def test_constant_queries_as_groups_grow(self, api, session, django_assert_num_queries):
        api.get(list_url(session.id))  # the key's first use writes last_used_at
        GroupFactory.create_batch(3, session=session)
        # The rate-limit counter and the page (the organization checked by a join in the page
        # query); the key is remembered from the call before.
        with django_assert_num_queries(2):
            assert len(api.get(list_url(session.id)).json()["results"]) == 3
        GroupFactory.create_batch(60, session=session)
        with django_assert_num_queries(2):
            assert len(api.get(list_url(session.id)).json()["results"]) == 50

    def test_an_empty_page_looks_the_session_up_once(self, api, session, django_assert_num_queries):
        api.get(list_url(session.id))
        with django_assert_num_queries(3):  # rate-limit counter, page, session
            response = api.get(list_url(session.id))
        assert response.status_code == 200
        assert response.json()["results"] == []


@pytest.mark.django_db
class TestGet:
    def test_returns_the_group_info(self, api, session):
        group = GroupFactory(
            session=session, subject="Team", description="Ours", is_locked=True, participant_count=7
        )
        response = api.get(f"{list_url(session.id)}/{group.jid}")
        assert response.status_code == 200
        assert response.json() == {
            "groupJid": group.jid,
            "subject": "Team",
            "description": "Ours",
            "ownerJid": session.jid,
            "isAnnounce": False,
            "isLocked": True,
            "participants": 7,
        }

    def test_percent_encoded_jid(self, api, session):
        group = GroupFactory(session=session)
        response = api.get(f"{list_url(session.id)}/{quote(group.jid, safe='')}")
        assert response.json()["groupJid"] == group.jid

    def test_old_style_group_jid(self, api, session):
        group = GroupFactory(session=session, jid="15551234567-1467372354@g.us")
        assert api.get(f"{list_url(session.id)}/{group.jid}").status_code == 200

    def test_unknown_group_is_404(self, api, session):
        error = assert_error(
            api.get(f"{list_url(session.id)}/120363000000000000@g.us"), 404, "not_found"
        )
        assert error["message"] == "group not found"

    def test_a_group_of_another_session_is_404(self, api, session, org):
        elsewhere = GroupFactory(session=WhatsAppSessionFactory(organization=org))
        assert_error(api.get(f"{list_url(session.id)}/{elsewhere.jid}"), 404, "not_found")

    def test_another_organizations_group_is_404(self, api, other_org):
        theirs = GroupFactory(session=WhatsAppSessionFactory(organization=other_org))
        response = api.get(f"{list_url(theirs.session_id)}/{theirs.jid}")
        error = assert_error(response, 404, "not_found")
        assert error["message"] == "session not found"

    def test_read_suffices_and_send_alone_does_not(self, client_for, org, session):
        group = GroupFactory(session=session)
        url = f"{list_url(session.id)}/{group.jid}"
        assert client_for(org, "read").get(url).status_code == 200
        assert_error(client_for(org, "send").get(url), 403, "forbidden")

    def test_query_count(self, api, session, django_assert_num_queries):
        group = GroupFactory(session=session)
        url = f"{list_url(session.id)}/{group.jid}"
        api.get(url)
        with django_assert_num_queries(2):  # rate-limit counter, group (joined)
            assert api.get(url).status_code == 200

    def test_post_to_a_group_is_405(self, api, session):
        group = GroupFactory(session=session)
        response = api.post(f"{list_url(session.id)}/{group.jid}", {}, format="json")
        assert_error(response, 405, "method_not_allowed")
        assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_a_complete_sync_removes_groups_left_but_keeps_ones_just_created():
    from django.utils import timezone

    from groups_app.models import Group
    from groups_app.store import group_infos, group_store_synced

    session = GroupFactory().session
    left = Group.objects.get(session=session)
    kept = GroupFactory(session=session)
    just_created = GroupFactory(session=session)
    Group.objects.filter(pk__in=[left.pk, kept.pk]).update(
        updated_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    reported = [info for info in group_infos(session_id=session.id) if info.jid == kept.jid]

    result = group_store_synced(
        session_id=session.id, infos=reported, complete=True, fetch_started=timezone.now()
    )

    assert (result.stored, result.removed) == (1, 1)
    assert set(Group.objects.values_list("jid", flat=True)) == {kept.jid, just_created.jid}


@pytest.mark.django_db
def test_the_list_rows_match_the_serializer_exactly(api, session):
    from groups_app.serializers import GroupInfoSerializer

    group = GroupFactory(session=session, description="d", is_locked=True, participant_count=9)
    listed = api.get(list_url(session.id)).json()["results"]
    assert listed == [GroupInfoSerializer(group).data]


@pytest.mark.django_db
def test_get_answers_what_the_serializer_says_for_every_flag(api, session):
    from groups_app.serializers import GroupInfoSerializer

    for is_announce in (False, True):
        for is_locked in (False, True):
            group = GroupFactory(
                session=session, is_announce=is_announce, is_locked=is_locked, description="d"
            )
            got = api.get(f"{list_url(session.id)}/{quote(group.jid)}").json()
            assert got == GroupInfoSerializer(group).data
            assert got["isAnnounce"] is is_announce and got["isLocked"] is is_locked


@pytest.mark.django_db
class TestSessionOwnershipRemembered:
    """The list and get read one table once the session is known to be the caller's;
    what this process remembers must never let another organization in, nor keep a
    deleted session alive."""

    def test_another_organization_is_refused_after_the_owner_was_served(
        self, api, client_for, session, other_org
    ):
        group = GroupFactory(session=session)
        assert api.get(list_url(session.id)).status_code == 200
        assert api.get(f"{list_url(session.id)}/{group.jid}").status_code == 200

        stranger = client_for(other_org, "read")
        assert_error(stranger.get(list_url(session.id)), 404, "not_found")
        assert_error(stranger.get(f"{list_url(session.id)}/{group.jid}"), 404, "not_found")

    def test_a_deleted_session_is_404_after_it_was_served(self, api, session):
        group = GroupFactory(session=session)
        assert api.get(list_url(session.id)).status_code == 200
        session_id = session.id

        session.delete()

        assert_error(api.get(list_url(session_id)), 404, "not_found")
        assert_error(api.get(f"{list_url(session_id)}/{group.jid}"), 404, "not_found")

    def test_only_the_first_read_of_a_session_checks_its_owner(
        self, api, org, django_assert_num_queries
    ):
        api.get(list_url(WhatsAppSessionFactory(organization=org).id))  # the key is remembered
        session = WhatsAppSessionFactory(organization=org)
        GroupFactory(session=session)
        with django_assert_num_queries(3):  # rate-limit counter, owner check, page
            assert api.get(list_url(session.id)).status_code == 200
        with django_assert_num_queries(2):  # rate-limit counter, page
            assert api.get(list_url(session.id)).status_code == 200

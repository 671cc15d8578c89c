"""Sending messages through the API on the sandbox, the stored messages, and the sandbox's
echo member (API.md, "Messages")."""

import base64

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from messages_app.models import Message
from sessions_app.models import SessionStatus
from tests.factories import GroupFactory, GroupParticipantFactory, WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.processes import wait_for
from tests.webhooks_receiver import receiving

ALICE = "15551230001@s.whatsapp.net"
BOB = "15551230002@s.whatsapp.net"
STRANGER = "15551239999@s.whatsapp.net"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def messages_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/messages"


def send(api, session, body, **headers):
    return api.post(messages_url(session), body, format="json", **headers)


def a_group(session, *, members=(ALICE, BOB), admin=True, announce=False):
    group = GroupFactory(session=session, is_announce=announce)
    GroupParticipantFactory(group=group, jid=session.jid, is_admin=admin, is_super_admin=admin)
    for jid in members:
        GroupParticipantFactory(group=group, jid=jid)
    return group


@pytest.mark.django_db
class TestSend:
    def test_a_text_to_a_group_is_sent_stored_and_listed(self, api, session):
        group = a_group(session)
        response = send(api, session, {"to": group.jid, "type": "text", "text": "Hello team"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["id"].startswith("3EB0") and len(body["id"]) == 22
        assert (body["chat"], body["type"], body["text"]) == (group.jid, "text", "Hello team")
        assert body["fromMe"] is True and body["sender"] == session.jid
        assert body["status"] == "sent"
        stored = Message.objects.get(session=session, message_id=body["id"])
        assert stored.from_me and stored.chat == group.jid
        listed = api.get(messages_url(session), {"chat": group.jid}).json()
        assert [row["id"] for row in listed["results"]] == [body["id"]]

    def test_mentions_must_be_members_and_mention_all_names_everyone(self, api, session):
        group = a_group(session)
        refused = send(
            api,
            session,
            {"to": group.jid, "type": "text", "text": "hi", "mentions": [ALICE, STRANGER]},
        )
        error = assert_error(refused, 400, "validation_error")
        assert error["details"]["mentions"] == ["not members of the group at [1]"]
        everyone = send(
            api, session, {"to": group.jid, "type": "text", "text": "all", "mentionAll": True}
        )
        assert everyone.status_code == 201, everyone.content
        assert everyone.json()["mentions"] == sorted([ALICE, BOB])

    def test_a_group_the_account_is_not_in_is_409_not_member(self, api, session):
        response = send(
            api, session, {"to": "120363000000000999@g.us", "type": "text", "text": "x"}
        )
        error = assert_error(response, 409, "conflict")
        assert error["details"] == {"reason": "not_member"}
        assert not Message.objects.exists()

    def test_an_announce_only_group_needs_an_admin(self, api, session):
        group = a_group(session, admin=False, announce=True)
        response = send(api, session, {"to": group.jid, "type": "text", "text": "x"})
        assert assert_error(response, 409, "conflict")["details"] == {"reason": "not_admin"}

    def test_a_session_that_is_not_connected_is_501(self, api, org):
        offline = WhatsAppSessionFactory(organization=org, status=SessionStatus.DISCONNECTED)
        response = send(api, offline, {"to": ALICE, "type": "text", "text": "x"})
        assert_error(response, 501, "not_implemented")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"to": "someone", "type": "text", "text": "x"}, "to"),
            ({"to": ALICE, "type": "sticker"}, "type"),
            ({"to": ALICE, "type": "text"}, "text"),
            ({"to": ALICE, "type": "text", "text": ""}, "text"),
            ({"to": ALICE, "type": "text", "text": "x" * 65_537}, "text"),
            ({"to": ALICE, "type": "image", "mimetype": "image/png"}, "media"),
            (
                {"to": ALICE, "type": "image", "media": {"data": "!!"}, "mimetype": "image/png"},
                "media",
            ),
            ({"to": ALICE, "type": "image", "media": {}, "mimetype": "image/png"}, "media"),
            ({"to": ALICE, "type": "poll", "poll": {"name": "q", "options": ["a"]}}, "poll"),
            ({"to": ALICE, "type": "poll", "poll": {"name": "q", "options": ["a", "a"]}}, "poll"),
            (
                {
                    "to": ALICE,
                    "type": "poll",
                    "poll": {"name": "q", "options": ["a", "b"], "selectableCount": 3},
                },
                "poll",
            ),
            (
                {"to": ALICE, "type": "reaction", "reaction": {"messageId": "nope", "emoji": "x"}},
                "reaction",
            ),
            ({"to": ALICE, "type": "group_invite", "groupJid": "not-a-group"}, "groupJid"),
            (
                {
                    "to": "120363000000000001@g.us",
                    "type": "group_invite",
                    "groupJid": "120363000000000001@g.us",
                },
                "to",
            ),
            ({"to": ALICE, "type": "text", "text": "x", "replyTo": "NOPE"}, "replyTo"),
            ({"to": ALICE, "type": "text", "text": "x", "mentionAll": True}, "mentionAll"),
            (
                {
                    "to": ALICE,
                    "type": "poll",
                    "poll": {"name": "q", "options": ["a", "b"]},
                    "mentions": [ALICE],
                },
                "mentions",
            ),
        ],
    )
    def test_every_bad_field_is_400_by_name(self, api, session, body, field):
        error = assert_error(send(api, session, body), 400, "validation_error")
        assert field in error["details"], error
        assert not Message.objects.exists()

    def test_an_image_is_sent_with_its_descriptor_and_its_bytes_come_back(self, api, session):
        group = a_group(session)
        response = send(
            api,
            session,
            {
                "to": group.jid,
                "type": "image",
                "media": {"data": base64.b64encode(PNG).decode()},
                "mimetype": "image/png",
                "caption": "a dot",
            },
        )
        assert response.status_code == 201, response.content
        media = response.json()["media"]
        assert media == {
            "mimetype": "image/png",
            "size": len(PNG),
            "filename": "",
            "caption": "a dot",
        }
        fetched = api.get(
            f"{messages_url(session)}/{response.json()['id']}/media", {"chat": group.jid}
        )
        assert fetched.status_code == 200
        assert fetched["Content-Type"] == "image/png"
        assert fetched.content == PNG

    def test_media_over_its_kinds_limit_is_413(self, api, session, settings):
        settings.GATEWAY_MEDIA_MAX_BYTES = {**settings.GATEWAY_MEDIA_MAX_BYTES, "image": 10}
        response = send(
            api,
            session,
            {
                "to": ALICE,
                "type": "image",
                "media": {"data": base64.b64encode(PNG).decode()},
                "mimetype": "image/png",
            },
        )
        error = assert_error(response, 413, "payload_too_large")
        assert error["details"]["maxBytes"] == 10

    def test_a_text_message_has_no_media_to_download(self, api, session):
        sent = send(api, session, {"to": ALICE, "type": "text", "text": "x"}).json()
        response = api.get(f"{messages_url(session)}/{sent['id']}/media", {"chat": ALICE})
        assert_error(response, 404, "not_found")

    def test_a_poll_a_reaction_and_a_reply(self, api, session):
        group = a_group(session)
        poll = send(
            api,
            session,
            {
                "to": group.jid,
                "type": "poll",
                "poll": {"name": "Lunch?", "options": ["Pizza", "Sushi"]},
            },
        ).json()
        assert poll["poll"] == {
            "name": "Lunch?",
            "options": ["Pizza", "Sushi"],
            "selectableCount": 1,
        }
        reaction = send(
            api,
            session,
            {
                "to": group.jid,
                "type": "reaction",
                "reaction": {"messageId": poll["id"], "emoji": "👍"},
            },
        )
        assert reaction.status_code == 201, reaction.content
        assert reaction.json()["reaction"] == {"messageId": poll["id"], "emoji": "👍"}
        reply = send(
            api, session, {"to": group.jid, "type": "text", "text": "?", "replyTo": poll["id"]}
        )
        assert reply.json()["quotedId"] == poll["id"]

    def test_a_group_invite_goes_to_a_user_from_an_admin_only(self, api, session):
        group = a_group(session)
        sent = send(api, session, {"to": STRANGER, "type": "group_invite", "groupJid": group.jid})
        assert sent.status_code == 201, sent.content
        invite = sent.json()["groupInvite"]
        assert invite["groupJid"] == group.jid and invite["code"]
        not_admin = a_group(session, admin=False)
        refused = send(
            api, session, {"to": STRANGER, "type": "group_invite", "groupJid": not_admin.jid}
        )
        assert assert_error(refused, 409, "conflict")["details"] == {"reason": "not_admin"}

    def test_the_same_idempotency_key_sends_once(self, api, session):
        body = {"to": ALICE, "type": "text", "text": "once"}
        first = send(api, session, body, HTTP_IDEMPOTENCY_KEY="msg-1")
        again = send(api, session, body, HTTP_IDEMPOTENCY_KEY="msg-1")
        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert first.json()["id"] == again.json()["id"]
        assert Message.objects.count() == 1

    def test_messages_are_read_from_storage_while_offline_newest_first(self, api, session):
        for n in range(3):
            send(api, session, {"to": ALICE, "type": "text", "text": f"m{n}"})
        session.status = SessionStatus.DISCONNECTED
        session.save()
        page = api.get(messages_url(session), {"chat": ALICE, "limit": 2}).json()
        assert [row["text"] for row in page["results"]] == ["m2", "m1"]
        rest = api.get(page["next"]).json()
        assert [row["text"] for row in rest["results"]] == ["m0"]

    def test_the_chat_is_required_and_other_organizations_see_nothing(
        self, api, session, other_org, client_for
    ):
        assert_error(api.get(messages_url(session)), 400, "validation_error")
        send(api, session, {"to": ALICE, "type": "text", "text": "x"})
        stranger = client_for(other_org)
        assert_error(stranger.get(messages_url(session), {"chat": ALICE}), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_member_echoes_a_text_and_votes_on_a_poll_and_webhooks_carry_it(
    org, client_for, settings
):
    settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = True
    from webhooks_app.delivery import deliver_due
    from webhooks_app.models import WebhookEndpoint

    api = client_for(org)
    session = WhatsAppSessionFactory(organization=org)
    group = a_group(session, members=(BOB, ALICE))
    with receiving() as receiver:
        WebhookEndpoint.objects.create(
            organization=org,
            url=receiver.url,
            events=["message.received", "message.updated"],
            secret="whsec_dGVzdHNlY3JldA==",
        )
        sent = send(api, session, {"to": group.jid, "type": "text", "text": "ping"}).json()
        wait_for(
            lambda: Message.objects.filter(session=session, from_me=False).exists(),
            "the echo",
            timeout=2,
        )
        echo = Message.objects.get(session=session, from_me=False)
        assert (echo.sender, echo.text, echo.quoted_id) == (ALICE, "echo: ping", sent["id"])
        poll = send(
            api,
            session,
            {"to": group.jid, "type": "poll", "poll": {"name": "q", "options": ["yes", "no"]}},
        ).json()
        wait_for(
            lambda: Message.objects.get(session=session, message_id=poll["id"]).votes != {},
            "the vote",
            timeout=2,
        )
        assert Message.objects.get(message_id=poll["id"]).votes == {ALICE: ["yes"]}
        deliver_due(limit=10)
        # Each body is checked against its signature with the Standard Webhooks
        # reference library; deliveries go out concurrently, so in any order.
        verifier = Webhook("whsec_dGVzdHNlY3JldA==")
        bodies = {
            body["type"]: body
            for body in (verifier.verify(raw, headers) for headers, raw in receiver.received)
        }
    assert sorted(bodies) == ["message.received", "message.updated"]
    received, updated = bodies["message.received"]["data"], bodies["message.updated"]["data"]
    assert received["text"] == "echo: ping" and received["fromMe"] is False
    assert received["status"] == "received"
    assert received["quotedId"] == sent["id"]
    assert updated["change"] == "poll_vote" and updated["options"] == ["yes"]
    connection.close()


@pytest.mark.django_db
class TestAtMostOnceOnWhatsApp:
    """On ``whatsapp`` WhatsApp picks the message id (neonize 0.5.2 takes none): a send
    whose outcome was lost cannot be recognised, so its retry is refused, never resent."""

    def _whatsapp(self, org):
        session = WhatsAppSessionFactory(organization=org, engine="whatsapp")
        return session, a_group(session)

    def test_a_retry_after_an_unknown_outcome_is_refused_and_costs_nothing(self, org):
        from django.utils import timezone

        from gateway.exceptions import Conflict
        from messages_app.services import message_id_for, message_send
        from sessions_app.engines.messages import OutgoingMessage

        session, group = self._whatsapp(org)
        with pytest.raises(Conflict) as refused:
            message_send(
                session=session,
                message=OutgoingMessage(to=group.jid, kind="text", text="lost?"),
                message_id=message_id_for(session=session, idempotency_key="k-1"),
                look_first_since=timezone.now(),
            )
        assert refused.value.details == {"reason": "outcome_unknown"}
        assert "new key" in str(refused.value)
        assert not Message.objects.exists()
        from sessions_app.send_budget import use_of

        assert (use_of(session).used_minute, use_of(session).used_day) == (0, 0)

    def test_a_retry_finds_what_its_key_sent_under_whatsapps_own_id(self, org):
        from django.utils import timezone

        from messages_app.services import message_id_for, message_send
        from sessions_app.engines.messages import OutgoingMessage

        session, group = self._whatsapp(org)
        key_id = message_id_for(session=session, idempotency_key="k-2")
        sent = Message.objects.create(
            session=session,
            chat=group.jid,
            message_id="3EB0CHOSENBYWHATSAPP",
            send_key=key_id,
            sender=session.jid,
            from_me=True,
            kind="text",
            text="sent",
            timestamp=timezone.now(),
        )
        found = message_send(
            session=session,
            message=OutgoingMessage(to=group.jid, kind="text", text="sent"),
            message_id=key_id,
            look_first_since=timezone.now(),
        )
        assert found.pk == sent.pk
        assert Message.objects.count() == 1


@pytest.mark.django_db
def test_listing_pages_newest_first_in_a_constant_number_of_queries(
    api, session, django_assert_max_num_queries
):
    """A page costs the same queries with 5 or 120 stored (no per-message query); the
    cursor walks every message once, newest first; another chat's are not listed."""
    from django.utils import timezone

    chat, other = "120363000000000100@g.us", "120363000000000101@g.us"

    def store(n: int, in_chat: str = chat) -> None:
        Message.objects.bulk_create(
            Message(
                session=session,
                chat=in_chat,
                message_id=f"M{in_chat[:4]}{index:05d}",
                sender=ALICE,
                kind="text",
                text=f"n{index}",
                timestamp=timezone.now(),
            )
            for index in range(n)
        )

    store(3, other)
    store(5)
    with django_assert_max_num_queries(8) as few:
        api.get(messages_url(session), {"chat": chat, "limit": 50})
    Message.objects.filter(chat=chat).delete()
    store(120)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = api.get(messages_url(session), {"chat": chat, "limit": 50}).json()
    seen = [row["text"] for row in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [row["text"] for row in page["results"]]
    assert seen == [f"n{index}" for index in range(119, -1, -1)]

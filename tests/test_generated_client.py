"""A client generated from the served schema with openapi-python-client drives every
group-management operation against a live server: the schema is exact enough to build
on."""

import base64
import importlib
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import WhatsAppSessionFactory

ALICE = "15551230001@s.whatsapp.net"
PRIVATE = "15554030001@s.whatsapp.net"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The client package, generated once for the module."""
    folder = tmp_path_factory.mktemp("client")
    schema = folder / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    tool = shutil.which("openapi-python-client") or str(
        Path(sys.executable).parent / "openapi-python-client"
    )
    result = subprocess.run(
        [tool, "generate", "--path", str(schema), "--meta", "none", "--output-path", "gwclient"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(folder)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation and answer is generated: no "Warning(s) encountered", no skipped
    # response (an image type the generator cannot read, say).
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


def module(name: str):
    return importlib.import_module(f"gwclient.{name}")


@pytest.mark.django_db(transaction=True)
def test_every_group_management_operation(generated, live_server, org, issue_token, settings):
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    client = module("client").AuthenticatedClient(
        base_url=live_server.url, token=issue_token(org), raise_on_unexpected_status=True
    )
    models = module("models")
    session = WhatsAppSessionFactory(organization=org, desired_connected=True)
    other = WhatsAppSessionFactory(organization=org, desired_connected=True)

    def call(operation: str, *args, **kwargs):
        response = importlib.import_module(f"gwclient.api.groups.{operation}").sync_detailed(
            *args, client=client, **kwargs
        )
        assert response.status_code < 300, (operation, response.status_code, response.content)
        return response.parsed

    group = call(
        "create_group",
        session.id,
        body=models.GroupCreateRequest(name="Team", participants=[ALICE]),
    )
    jid = group.group_jid

    added = call(
        "change_group_participants",
        session.id,
        jid,
        body=models.ParticipantsChangeRequest(action=models.ActionEnum.ADD, participants=[PRIVATE]),
    )
    assert added.results[0].result == models.ResultEnum.NEEDS_INVITE
    call(
        "change_group_participants",
        session.id,
        jid,
        body=models.ParticipantsChangeRequest(
            action=models.ActionEnum.PROMOTE, participants=[ALICE]
        ),
    )
    members = call("list_group_participants", session.id, jid)
    assert {m.jid: m.role for m in members.results}[ALICE] == models.RoleEnum.ADMIN

    updated = call(
        "update_group",
        session.id,
        jid,
        body=models.PatchedGroupUpdateRequest(description="About us", is_locked=True),
    )
    assert (updated.description, updated.is_locked) == ("About us", True)

    invite = call("get_group_invite", session.id, jid)
    assert invite.url.endswith(invite.code)
    preview = call("get_group_invite_info", other.id, code=invite.code)
    assert preview.group_jid == jid
    joined = call("join_group", other.id, body=models.GroupJoinRequest(code=invite.url))
    assert joined.group_jid == jid
    revoked = call("revoke_group_invite", session.id, jid)
    assert revoked.code != invite.code

    requests = call("list_group_join_requests", session.id, jid)
    assert requests.results == []
    picture = call(
        "set_group_picture",
        session.id,
        jid,
        body=models.PictureRequest(image=base64.b64encode(JPEG).decode()),
    )
    assert picture.picture_id

    response = importlib.import_module("gwclient.api.groups.leave_group").sync_detailed(
        session.id, jid, client=client
    )
    assert response.status_code == 204


@pytest.mark.django_db(transaction=True)
def test_qr_as_png_pagination_by_cursor_and_status_as_an_enum(
    generated, live_server, org, issue_token
):
    from urllib.parse import parse_qs, urlsplit

    from django.utils import timezone

    from sessions_app.transitions import session_record_qr

    client = module("client").AuthenticatedClient(base_url=live_server.url, token=issue_token(org))
    models = module("models")
    sessions_api = importlib.import_module("gwclient.api.sessions.list_sessions")
    qr_api = importlib.import_module("gwclient.api.sessions.get_session_qr_image")
    for _ in range(3):
        WhatsAppSessionFactory(organization=org)
    pairing = WhatsAppSessionFactory(organization=org, fresh=True)
    session_record_qr(
        session_id=pairing.id, code="2@abc", expires_at=timezone.now() + timedelta(minutes=1)
    )

    seen, cursor = [], None
    while True:
        page = sessions_api.sync(client=client, limit=2, cursor=cursor)
        seen += [session.id for session in page.results]
        assert all(isinstance(s.status, models.SessionStatusEnum) for s in page.results)
        if not page.next_:
            break
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
    assert len(seen) == 4 and len(set(seen)) == 4

    png = qr_api.sync_detailed(pairing.id, client=client)  # binary: the bytes as they came
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.parsed.payload.read() == png.content  # a File, not an omitted answer

    page = sessions_api.sync(client=client, limit=2)
    walked = [session.id for session in page.results]
    while page.next_cursor:  # the cursor itself, no link to take apart
        page = sessions_api.sync(client=client, limit=2, cursor=page.next_cursor)
        walked += [session.id for session in page.results]
    assert walked == seen
    assert models.EventsEnum.ALL.value == "*"


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.mark.django_db(transaction=True)
def test_sends_each_message_type_and_reads_them_back(
    generated, live_server, org, issue_token, settings
):
    settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off", "anonymous": "off"}
    client = module("client").AuthenticatedClient(
        base_url=live_server.url, token=issue_token(org), raise_on_unexpected_status=True
    )
    models = module("models")
    kinds = models.MessageSendTypeEnum
    session = WhatsAppSessionFactory(organization=org, desired_connected=True)
    group = importlib.import_module("gwclient.api.groups.create_group").sync(
        session.id,
        client=client,
        body=models.GroupCreateRequest(name="Messages", participants=[ALICE]),
    )
    jid = group.group_jid
    send_api = importlib.import_module("gwclient.api.messages.send_message")

    def send(key: str, **fields):
        response = send_api.sync_detailed(
            session.id,
            client=client,
            body=models.MessageSendRequest(**fields),
            idempotency_key=key,
        )
        assert response.status_code == 201, (fields, response.status_code, response.content)
        assert isinstance(response.parsed, models.Message)
        assert response.parsed.status == models.MessageStatusEnum.SENT
        return response.parsed

    def media(data: bytes):
        return models.MediaInputRequest(data=base64.b64encode(data).decode())

    text = send("m-text", to=jid, type_=kinds.TEXT, text="Hello @Alice", mentions=[ALICE])
    sent = {
        "text": text,
        "image": send(
            "m-image",
            to=jid,
            type_=kinds.IMAGE,
            media=media(PNG),
            mimetype="image/png",
            caption="a pixel",
            reply_to=text.id,
        ),
        "video": send(
            "m-video",
            to=jid,
            type_=kinds.VIDEO,
            media=media(b"\0\0\0\x18ftypmp42"),
            mimetype="video/mp4",
        ),
        "audio": send(
            "m-audio", to=jid, type_=kinds.AUDIO, media=media(b"OggS\0\2"), mimetype="audio/ogg"
        ),
        "document": send(
            "m-doc",
            to=jid,
            type_=kinds.DOCUMENT,
            media=media(b"%PDF-1.4"),
            mimetype="application/pdf",
            filename="a.pdf",
        ),
        "poll": send(
            "m-poll",
            to=jid,
            type_=kinds.POLL,
            poll=models.PollInputRequest(name="Lunch?", options=["Pizza", "Sushi"]),
        ),
        "reaction": send(
            "m-react",
            to=jid,
            type_=kinds.REACTION,
            reaction=models.ReactionInputRequest(message_id=text.id, emoji="👍"),
        ),
    }
    invite = send("m-invite", to=PRIVATE, type_=kinds.GROUP_INVITE, group_jid=jid)
    assert invite.group_invite.group_jid == jid and invite.group_invite.code
    assert {kind: message.type_.value for kind, message in sent.items()} == {
        kind: kind for kind in sent
    }
    assert sent["image"].quoted_id == text.id
    assert sent["document"].media.filename == "a.pdf"
    assert sent["poll"].poll.options == ["Pizza", "Sushi"]

    listed = importlib.import_module("gwclient.api.messages.list_messages").sync(
        session.id, client=client, chat=jid, limit=50
    )
    assert isinstance(listed, models.PaginatedMessageList)
    mine = [message for message in listed.results if message.from_me]
    # Newest first: the reverse of the order sent.
    assert [message.id for message in mine] == [message.id for message in sent.values()][::-1]

    image = importlib.import_module("gwclient.api.messages.get_message_media").sync_detailed(
        session.id, sent["image"].id, client=client, chat=jid
    )
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"

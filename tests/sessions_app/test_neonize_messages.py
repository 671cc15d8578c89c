"""Messages through the whatsapp engine on the real neonize library, offline: what each
send puts on the wire, and what each received shape becomes in the store
(``neonize_messages_probe.py``, in its own process)."""

import base64
import json
import subprocess
import sys
from typing import Any

import pytest

from messages_app.models import Message
from messages_app.output import message_output
from sessions_app.models import Engine
from tests.factories import WhatsAppSessionFactory
from tests.processes import ROOT, process_env

GROUP = "120363000000000077@g.us"
MEMBER = "15551230001@s.whatsapp.net"


@pytest.fixture
def probed(settings) -> dict[str, Any]:
    settings.GATEWAY_DEVICE_STORE = "sqlite"
    session = WhatsAppSessionFactory(engine=Engine.WHATSAPP, fresh=True, desired_connected=True)
    result = subprocess.run(
        [sys.executable, "tests/sessions_app/neonize_messages_probe.py", session.id],
        cwd=ROOT,
        env=process_env(GATEWAY_DEVICE_STORE="sqlite", PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finished"] is True
    report["session"] = session
    return report


def _sent(report: dict[str, Any], field: str) -> dict[str, Any]:
    (entry,) = [entry for entry in report["wire"] if field in entry["message"]]
    return entry


@pytest.mark.django_db(transaction=True)
def test_sends_and_receives_through_the_real_library(probed):
    report = probed
    wire = report["wire"]
    assert len(wire) == 8  # one per kind
    # text: ExtendedTextMessage with a ContextInfo naming the mention and the quote.
    text = _sent(report, "extendedTextMessage")
    assert text["to"] == GROUP
    extended = text["message"]["extendedTextMessage"]
    assert extended["text"] == "Hello @15551230001"
    context = extended["contextInfo"]
    assert context["mentionedJID"] == [MEMBER]
    assert context["stanzaID"] == "3EB0QUOTED"
    assert context["participant"] == MEMBER
    assert context["quotedMessage"] == {"conversation": "the quoted text"}
    # image (neonize's builder: uploaded, with a thumbnail) and document.
    image = _sent(report, "imageMessage")["message"]["imageMessage"]
    assert image["mimetype"] == "image/png" and image["caption"] == "a red square"
    assert image["URL"].startswith("https://mmg.whatsapp.net/upload/")
    assert base64.b64decode(image["mediaKey"]) == b"K" * 32
    assert image["JPEGThumbnail"]
    document = _sent(report, "documentMessage")["message"]["documentMessage"]
    assert (document["fileName"], document["mimetype"]) == ("report.pdf", "application/pdf")
    assert document["caption"] == "the report"
    # video and audio: uploaded as their media types (neonize's MediaVideo 1, MediaAudio 2).
    video = _sent(report, "videoMessage")["message"]["videoMessage"]
    audio = _sent(report, "audioMessage")["message"]["audioMessage"]
    assert video["mimetype"] == "video/mp4" and audio["mimetype"] == "audio/ogg; codecs=opus"
    assert sorted(upload["media_type"] for upload in report["uploads"]) == [0, 1, 2, 3]
    assert video["directPath"].startswith("/v/t62/upload-")
    # poll: built by neonize's Go side (with its 32-byte secret), the count as asked.
    poll = _sent(report, "pollCreationMessage")["message"]
    creation = poll["pollCreationMessage"]
    assert creation["name"] == "Lunch?"
    assert [option["optionName"] for option in creation["options"]] == ["Pizza", "Sushi", "Salad"]
    assert creation["selectableOptionsCount"] == 2
    assert len(base64.b64decode(poll["messageContextInfo"]["messageSecret"])) == 32
    # reaction: built by neonize's Go side, keyed on the reacted message and its sender.
    reaction = _sent(report, "reactionMessage")["message"]["reactionMessage"]
    assert reaction["text"] == "👍"
    assert reaction["key"]["ID"] == "3EB0QUOTED"
    assert reaction["key"]["remoteJID"] == GROUP
    assert reaction["key"]["participant"] == MEMBER
    # group invite: to the user, with the group's current code from WhatsApp.
    invite_entry = _sent(report, "groupInviteMessage")
    assert invite_entry["to"] == MEMBER
    invite = invite_entry["message"]["groupInviteMessage"]
    assert (invite["groupJID"], invite["inviteCode"]) == (GROUP, "InviteCodeFromWA1")
    assert invite["groupName"] == "Team"
    # What the engine returned: WhatsApp's id and time; the media descriptor with keys.
    returned = report["returned"]
    assert returned["text"]["id"] == "3EB0SENT0001"
    assert returned["text"]["sender"] == "15550001111@s.whatsapp.net"
    assert returned["text"]["timestamp"].startswith("2025-12-29T")
    assert returned["image"]["media"]["download"]["kind"] == "image"
    assert returned["group_invite"]["extra"]["groupInvite"]["code"] == "InviteCodeFromWA1"
    assert returned["poll"]["extra"]["poll"]["selectableCount"] == 2
    # A send acknowledged with 403: the account may not write there.
    assert report["refused"] == {"type": "Conflict", "reason": "not_admin"}

    session = report["session"]
    stored = {m.message_id: m for m in Message.objects.filter(session=session)}
    # The key share alone is protocol, not a message.
    assert set(stored) == {
        "IN-TEXT",
        "IN-PLAIN",
        "IN-IMAGE",
        "IN-DOC",
        "IN-POLL",
        "IN-INVITE",
        "IN-LOCATION",
    }
    # A LID sender shows as its phone JID, the LID beside it; quote and mentions kept.
    text_in = message_output(stored["IN-TEXT"])
    assert (text_in["sender"], text_in["senderLid"]) == (MEMBER, "98765432100001@lid")
    assert text_in["quotedId"] == "3EB0SENT0001"
    assert text_in["mentions"] == ["15550001111@s.whatsapp.net"]
    assert text_in["fromMe"] is False
    # Changes: the reaction, the edit, the vote (digest resolved to its option), the delete.
    assert text_in["reactions"] == {MEMBER: "❤️"}
    plain = message_output(stored["IN-PLAIN"])
    assert plain["text"] == "plain, edited" and plain["editedAt"] is not None
    assert message_output(stored["IN-DOC"])["deletedAt"] is not None
    image_in = message_output(stored["IN-IMAGE"])
    # The descriptor, without the keys the API never shows.
    assert image_in["media"] == {
        "mimetype": "image/jpeg",
        "size": 1234,
        "filename": "",
        "caption": "look",
    }
    assert stored["IN-IMAGE"].media["download"]["directPath"] == "/v/t62/in-image"
    poll_in = message_output(stored["IN-POLL"])
    assert poll_in["poll"] == {"name": "Where?", "options": ["Here", "There"], "selectableCount": 1}
    # WhatsApp names the option voted for by its SHA-256; the store holds its name.
    assert poll_in["votes"] == {MEMBER: ["There"]}
    assert message_output(stored["IN-INVITE"])["groupInvite"]["code"] == "CODE88"
    assert stored["IN-LOCATION"].kind == "other"
    # The media, fetched with the keys the message came with.
    (download,) = report["downloads"]
    assert download["path"] == "/v/t62/in-image"
    assert base64.b64decode(download["key"]) == b"M" * 32
    assert (download["length"], download["media_type"], download["mms"]) == (1234, 0, "image")
    assert base64.b64decode(report["media"]["data"]) == b"\x00\x01media\x00bytes"
    assert report["media"]["type"] == "image/jpeg"

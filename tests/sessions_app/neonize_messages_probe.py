"""Messages through the whatsapp engine on the real neonize library, offline, in its own
process (run by test_neonize_messages.py: neonize can abort an interpreter).

The client is neonize's real ``NewClient`` whose dial failed (no network here): it is
registered on the Go side, so neonize's builders (poll creation, reaction) and its event
dispatcher run for real. Only the calls that would reach WhatsApp's servers — send,
upload, download, the invite link, decrypting a vote (it needs the poll's secret from a
real exchange) — are answered here, at the FFI object neonize calls, with the bytes the Go
side returns (neonize's own return protobufs). Argument: a whatsapp session's id. Prints
one JSON object: what each send put on the wire, and what the engine returned.
"""

import base64
import ctypes
import hashlib
import io
import json
import sys
from typing import Any

import django

django.setup()

from google.protobuf.json_format import MessageToDict  # noqa: E402
from neonize.events import EVENT_TO_INT, ConnectedEv, MessageEv, PairStatusEv  # noqa: E402
from neonize.proto import Neonize_pb2 as neonize_proto  # noqa: E402
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as e2e  # noqa: E402
from PIL import Image  # noqa: E402

from messages_app.models import Message  # noqa: E402
from sessions_app.engines.messages import OutgoingMessage  # noqa: E402
from tests.processes import wait_for  # noqa: E402
from tests.sessions_app.fake_whatsapp import complete  # noqa: E402
from tests.sessions_app.neonize_offline_probe import jid, offline_live_session  # noqa: E402

GROUP = "120363000000000077@g.us"
MEMBER = "15551230001@s.whatsapp.net"
MEMBER_LID = "98765432100001@lid"
MEDIA_BYTES = b"\x00\x01media\x00bytes"


class NetworkAtTheFFI:
    """Forwards every call to neonize's Go object, except those that reach WhatsApp's
    servers: those are recorded and answered as the Go side would."""

    def __init__(self, gocode: Any) -> None:
        self._gocode = gocode
        self.sent: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.downloads: list[dict[str, Any]] = []
        self.send_error = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gocode, name)

    def SendMessage(self, uuid: bytes, to: bytes, to_len: int, msg: bytes, msg_len: int) -> bytes:
        target = neonize_proto.JID.FromString(to)
        message = e2e.Message.FromString(msg)
        self.sent.append({"to": f"{target.User}@{target.Server}", "message": message})
        if self.send_error:
            return neonize_proto.SendMessageReturnFunction(
                Error=self.send_error
            ).SerializeToString()
        response = neonize_proto.SendResponse(
            ID=f"3EB0SENT{len(self.sent):04d}", Timestamp=1_767_000_000 + len(self.sent)
        )
        return complete(
            neonize_proto.SendMessageReturnFunction(SendResponse=response)
        ).SerializeToString()

    def Upload(self, uuid: bytes, data: bytes, size: int, media_type: int) -> bytes:
        self.uploads.append({"size": size, "media_type": media_type})
        digest = hashlib.sha256(data).digest()
        upload = neonize_proto.UploadResponse(
            url=f"https://mmg.whatsapp.net/upload/{len(self.uploads)}",
            DirectPath=f"/v/t62/upload-{len(self.uploads)}",
            Handle="",
            MediaKey=b"K" * 32,
            FileEncSHA256=b"E" * 32,
            FileSHA256=digest,
            FileLength=size,
        )
        return complete(
            neonize_proto.UploadReturnFunction(UploadResponse=upload)
        ).SerializeToString()

    def GetGroupInviteLink(self, uuid: bytes, group: bytes, size: int, revoke: bool) -> bytes:
        return neonize_proto.GetGroupInviteLinkReturnFunction(
            InviteLink="https://chat.whatsapp.com/InviteCodeFromWA1"
        ).SerializeToString()

    def DownloadMediaWithPath(self, uuid: bytes, path: bytes, *args: Any) -> bytes:
        enc, _, _plain, _, key, _, length, media_type, mms = args
        self.downloads.append(
            {
                "path": path.decode(),
                "enc": base64.b64encode(enc).decode(),
                "key": base64.b64encode(key).decode(),
                "length": length,
                "media_type": media_type,
                "mms": mms.decode(),
            }
        )
        return neonize_proto.DownloadReturnFunction(Binary=MEDIA_BYTES).SerializeToString()

    def DecryptPollVote(self, uuid: bytes, message: bytes, size: int) -> bytes:
        vote = e2e.PollVoteMessage(selectedOptions=[hashlib.sha256(b"There").digest()])
        return neonize_proto.ReturnFunctionWithError(PollVoteMessage=vote).SerializeToString()


def inject(client: Any, event: Any) -> None:
    data = complete(event).SerializeToString()
    buffer = ctypes.create_string_buffer(data, len(data))
    client.event.execute(b"x", ctypes.addressof(buffer), len(data), EVENT_TO_INT[type(event)])


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def event(message_id: str, body: e2e.Message, *, sender: Any, alt: Any | None = None) -> Any:
    source = neonize_proto.MessageSource(
        Chat=jid("120363000000000077", "g.us"), Sender=sender, IsFromMe=False, IsGroup=True
    )
    if alt is not None:
        source.SenderAlt.CopyFrom(alt)
    info = neonize_proto.MessageInfo(MessageSource=source, ID=message_id, Timestamp=1_767_000_100)
    return MessageEv(Info=info, Message=body)


def wire(entry: dict[str, Any]) -> dict[str, Any]:
    return {"to": entry["to"], "message": MessageToDict(entry["message"])}


def main() -> None:
    (session_id,) = sys.argv[1:2]
    report: dict[str, Any] = {}
    live, client = offline_live_session(session_id)
    network = NetworkAtTheFFI(client._NewClient__client)
    client._NewClient__client = network
    inject(client, PairStatusEv(ID=jid("15550001111"), Status=PairStatusEv.SUCCESS))
    wait_for(lambda: live.jid == "15550001111@s.whatsapp.net", "the paired jid")
    inject(client, ConnectedEv(status=True))
    wait_for(lambda: live.connected, "connected")

    # -- sends: each kind, as the API's services hand it over --------------------------
    sends = {
        "text": OutgoingMessage(
            to=GROUP,
            kind="text",
            text="Hello @15551230001",
            mentions=(MEMBER,),
            reply_to="3EB0QUOTED",
            quoted_sender=MEMBER,
            quoted_text="the quoted text",
        ),
        "image": OutgoingMessage(
            to=GROUP, kind="image", media=png(), mimetype="image/png", caption="a red square"
        ),
        "document": OutgoingMessage(
            to=GROUP,
            kind="document",
            media=b"%PDF-1.4 minimal",
            mimetype="application/pdf",
            filename="report.pdf",
            caption="the report",
        ),
        "video": OutgoingMessage(
            to=GROUP, kind="video", media=b"\x00\x00\x00\x18ftypmp42", mimetype="video/mp4"
        ),
        "audio": OutgoingMessage(
            to=GROUP, kind="audio", media=b"OggS\x00\x02", mimetype="audio/ogg; codecs=opus"
        ),
        "poll": OutgoingMessage(
            to=GROUP,
            kind="poll",
            poll_name="Lunch?",
            poll_options=("Pizza", "Sushi", "Salad"),
            selectable_count=2,
        ),
        "reaction": OutgoingMessage(
            to=GROUP, kind="reaction", reaction_to="3EB0QUOTED", emoji="👍", quoted_sender=MEMBER
        ),
        "group_invite": OutgoingMessage(
            to=MEMBER,
            kind="group_invite",
            group_jid=GROUP,
            group_subject="Team",
        ),
    }
    returned = {}
    for kind, outgoing in sends.items():
        returned[kind] = live.send_message(message=outgoing, message_id="3EB0IGNORED").to_dict()
    report["returned"] = returned
    report["wire"] = [wire(entry) for entry in network.sent]
    report["uploads"] = network.uploads

    # A send WhatsApp acknowledges with 403 (an announce-only group, not an admin).
    network.send_error = "server returned error 403"
    try:
        live.send_message(message=sends["text"], message_id="3EB0X")
    except Exception as exc:
        report["refused"] = {
            "type": type(exc).__name__,
            "reason": getattr(exc, "details", {}).get("reason"),
        }
    network.send_error = ""

    # -- received: MessageEv shapes through neonize's dispatcher -----------------------
    lid_sender = jid("98765432100001", "lid")
    phone = jid("15551230001")
    text = e2e.Message(
        extendedTextMessage=e2e.ExtendedTextMessage(
            text="hi @15550001111",
            contextInfo=e2e.ContextInfo(
                stanzaID="3EB0SENT0001", mentionedJID=["15550001111@s.whatsapp.net"]
            ),
        )
    )
    inject(client, event("IN-TEXT", text, sender=lid_sender, alt=phone))
    inject(client, event("IN-PLAIN", e2e.Message(conversation="plain"), sender=phone))
    image = e2e.Message(
        imageMessage=e2e.ImageMessage(
            mimetype="image/jpeg",
            fileLength=1234,
            caption="look",
            directPath="/v/t62/in-image",
            mediaKey=b"M" * 32,
            fileEncSHA256=b"F" * 32,
            fileSHA256=b"G" * 32,
        )
    )
    inject(client, event("IN-IMAGE", image, sender=phone))
    document = e2e.Message(
        documentMessage=e2e.DocumentMessage(
            mimetype="application/pdf", fileLength=99, fileName="in.pdf", directPath="/v/doc"
        )
    )
    inject(client, event("IN-DOC", document, sender=phone))
    poll = e2e.Message(
        pollCreationMessageV3=e2e.PollCreationMessage(
            name="Where?",
            options=[
                e2e.PollCreationMessage.Option(optionName="Here"),
                e2e.PollCreationMessage.Option(optionName="There"),
            ],
            selectableOptionsCount=1,
        )
    )
    inject(client, event("IN-POLL", poll, sender=phone))
    invite = e2e.Message(
        groupInviteMessage=e2e.GroupInviteMessage(
            groupJID="120363000000000088@g.us",
            inviteCode="CODE88",
            inviteExpiration=1_767_259_300,
            groupName="Other",
        )
    )
    inject(client, event("IN-INVITE", invite, sender=phone))
    inject(
        client,
        event("IN-LOCATION", e2e.Message(locationMessage=e2e.LocationMessage()), sender=phone),
    )
    key_share_only = e2e.Message(
        senderKeyDistributionMessage=e2e.SenderKeyDistributionMessage(groupID=GROUP)
    )
    inject(client, event("IN-KEYSHARE", key_share_only, sender=phone))
    wait_for(
        lambda: Message.objects.filter(session_id=session_id, message_id="IN-LOCATION").exists(),
        "the received messages",
    )
    # Changes to stored messages: a reaction, an edit, a poll vote (on IN-POLL: its
    # options are named by digest), a delete.
    key = type(e2e.ReactionMessage().key)  # waCommon's MessageKey
    reaction = e2e.Message(reactionMessage=e2e.ReactionMessage(key=key(ID="IN-TEXT"), text="❤️"))
    inject(client, event("IN-REACT", reaction, sender=phone))
    edit = e2e.Message(
        protocolMessage=e2e.ProtocolMessage(
            key=key(ID="IN-PLAIN"),
            type=e2e.ProtocolMessage.MESSAGE_EDIT,
            editedMessage=e2e.Message(conversation="plain, edited"),
        )
    )
    inject(client, event("IN-EDIT", edit, sender=phone))
    vote = e2e.Message(
        pollUpdateMessage=e2e.PollUpdateMessage(pollCreationMessageKey=key(ID="IN-POLL"))
    )
    inject(client, event("IN-VOTE", vote, sender=phone))
    revoke = e2e.Message(
        protocolMessage=e2e.ProtocolMessage(key=key(ID="IN-DOC"), type=e2e.ProtocolMessage.REVOKE)
    )
    inject(client, event("IN-REVOKE", revoke, sender=phone))
    wait_for(
        lambda: Message.objects.filter(
            session_id=session_id, message_id="IN-DOC", deleted_at__isnull=False
        ).exists(),
        "the changes",
    )

    # -- a received message's media, fetched with the keys it came with ----------------
    stored = Message.objects.get(session_id=session_id, message_id="IN-IMAGE")
    content = live.message_media(
        chat=GROUP, message_id="IN-IMAGE", download=stored.media["download"]
    )
    report["media"] = {"data": base64.b64encode(content.data).decode(), "type": content.mimetype}
    report["downloads"] = network.downloads
    report["vote_digest"] = hashlib.sha256(b"There").hexdigest()
    report["finished"] = True
    print(json.dumps(report))


if __name__ == "__main__":
    main()

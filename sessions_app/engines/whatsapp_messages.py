"""Messages between the gateway and neonize (whatsmeow): what to send as WhatsApp's
``Message`` protobuf, and what a ``MessageEv`` says as the gateway's messages and changes.

Pure translation, as ``whatsapp_mapping`` is for groups: the calls that reach the network
(upload, send, decrypting a poll vote) are made by the engine, under its lock; the
builders here take the client only for neonize's own message builders.

- text: ``ExtendedTextMessage`` with a ``ContextInfo`` (mentions, and the quoted
  message: its id, sender and text as stored, which is what WhatsApp shows above a
  reply);
- image and document: neonize's ``build_image_message`` and ``build_document_message``
  (they upload), with the API's mimetype and quote; video and audio: uploaded with
  ``client.upload`` and described here (neonize's builders for them run ffmpeg, which the
  gateway does not require);
- poll: ``build_poll_vote_creation`` (it sets the poll's secret), then the selectable
  count asked for;
- reaction: ``build_reaction`` (the reacted message's chat, sender and id);
- group invite: the ``GroupInviteMessage`` WhatsApp's app sends to people who could not
  be added, with the group's current code and an expiry three days out.
"""

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sessions_app.engines.messages import (
    MEDIA_KINDS,
    MediaInfo,
    MessageChange,
    MessageInfo,
    OutgoingMessage,
)
from sessions_app.engines.whatsapp_mapping import jid_from_text, jid_text

# How long a sent group invite lets its recipient join (WhatsApp's app: three days).
INVITE_LIFETIME = timedelta(days=3)
# The download keys a media message carries, stored (base64) to fetch its bytes later.
_DOWNLOAD_FIELDS = ("directPath", "fileEncSHA256", "fileSHA256", "mediaKey")
# Message fields that carry a media kind's descriptor.
_MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
}
_POLL_FIELDS = ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3")
# ProtocolMessage.Type: a message taken back for everyone, and an edit.
_REVOKE = 0
_MESSAGE_EDIT = 14


# whatsmeow: a send the server acknowledged with an error code ("server returned error
# 403"), and a media download WhatsApp's CDN refused ("download failed with status code
# 410": media is kept for a while only).
SEND_REFUSED_RE = re.compile(r"server returned error (\d{3})")
DOWNLOAD_REFUSED_RE = re.compile(r"download failed with status code (\d{3})")


def epoch(value: float) -> datetime:
    """A WhatsApp timestamp (seconds; some fields carry ms, µs or ns) as a UTC datetime;
    now when it is missing."""
    if not value or value <= 0:
        return datetime.now(tz=UTC)
    seconds = float(value)
    while seconds > 1e11:  # later than the year 5138 in seconds: a finer unit
        seconds /= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


# -- sending --------------------------------------------------------------------------


def _context(message: OutgoingMessage) -> Any:
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, Message

    context = ContextInfo(mentionedJID=list(message.mentions))
    if message.reply_to:
        context.stanzaID = message.reply_to
        if message.quoted_sender:
            context.participant = message.quoted_sender
        context.quotedMessage.CopyFrom(Message(conversation=message.quoted_text))
    return context


def _media_message(client: Any, message: OutgoingMessage) -> Any:
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import AudioMessage, Message, VideoMessage
    from neonize.utils.enum import MediaType

    if message.kind == "image":
        built = client.build_image_message(message.media, caption=message.caption or None)
        part = built.imageMessage
    elif message.kind == "document":
        built = client.build_document_message(
            message.media,
            caption=message.caption or None,
            title=message.filename or None,
            filename=message.filename or None,
            mimetype=message.mimetype,
        )
        part = built.documentMessage
    else:
        video = message.kind == "video"
        upload = client.upload(
            message.media, MediaType.MediaVideo if video else MediaType.MediaAudio
        )
        described = {
            "URL": upload.url,
            "directPath": upload.DirectPath,
            "mediaKey": upload.MediaKey,
            "fileEncSHA256": upload.FileEncSHA256,
            "fileSHA256": upload.FileSHA256,
            "fileLength": upload.FileLength,
            "mimetype": message.mimetype,
        }
        if video:
            built = Message(videoMessage=VideoMessage(caption=message.caption, **described))
            part = built.videoMessage
        else:
            built = Message(audioMessage=AudioMessage(**described))
            part = built.audioMessage
    # The API's mimetype, not a guess from the bytes; the quote and mentions as asked.
    part.mimetype = message.mimetype
    part.contextInfo.CopyFrom(_context(message))
    return built


def outgoing_proto(client: Any, message: OutgoingMessage, *, invite_code: str = "") -> Any:
    """The ``Message`` protobuf that sends ``message`` (uploading its media first)."""
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
        ExtendedTextMessage,
        GroupInviteMessage,
        Message,
    )
    from neonize.utils.enum import VoteType

    if message.kind == "text":
        return Message(
            extendedTextMessage=ExtendedTextMessage(
                text=message.text, contextInfo=_context(message)
            )
        )
    if message.kind in MEDIA_KINDS:
        return _media_message(client, message)
    if message.kind == "poll":
        built = client.build_poll_vote_creation(
            message.poll_name, list(message.poll_options), VoteType.MULTIPLE
        )
        built.pollCreationMessage.selectableOptionsCount = message.selectable_count
        if message.reply_to:
            built.pollCreationMessage.contextInfo.CopyFrom(_context(message))
        return built
    if message.kind == "reaction":
        return client.build_reaction(
            jid_from_text(message.to),
            jid_from_text(message.quoted_sender or message.to),
            message.reaction_to,
            message.emoji,
        )
    if message.kind == "group_invite":
        expires = datetime.now(tz=UTC) + INVITE_LIFETIME
        return Message(
            groupInviteMessage=GroupInviteMessage(
                groupJID=message.group_jid,
                inviteCode=invite_code,
                inviteExpiration=int(expires.timestamp()),
                groupName=message.group_subject,
                contextInfo=_context(message),
            )
        )
    raise ValueError(f"no WhatsApp message for kind {message.kind!r}")


def sent_info(
    message: OutgoingMessage, built: Any, response: Any, *, account: str, invite_code: str = ""
) -> MessageInfo:
    """What the store keeps of a message WhatsApp accepted (its id and time are
    WhatsApp's, from the send response)."""
    extra: dict[str, Any] = {}
    if message.kind == "poll":
        extra["poll"] = {
            "name": message.poll_name,
            "options": list(message.poll_options),
            "selectableCount": message.selectable_count,
        }
    elif message.kind == "reaction":
        extra["reaction"] = {"messageId": message.reaction_to, "emoji": message.emoji}
    elif message.kind == "group_invite":
        invite = built.groupInviteMessage
        extra["groupInvite"] = {
            "groupJid": message.group_jid,
            "code": invite_code,
            "expiresAt": epoch(invite.inviteExpiration).isoformat().replace("+00:00", "Z"),
            "subject": message.group_subject,
        }
    media = None
    if message.kind in MEDIA_KINDS:
        media = replace(
            _media_info(getattr(built, f"{message.kind}Message"), message.kind),
            size=len(message.media),
            filename=message.filename,
        )
    return MessageInfo(
        id=str(response.ID),
        chat=message.to,
        sender=account,
        kind=message.kind,
        timestamp=epoch(response.Timestamp),
        from_me=True,
        text=message.text,
        quoted_id=message.reply_to,
        mentions=message.mentions,
        media=media,
        extra=extra,
    )


# -- receiving ------------------------------------------------------------------------


def _media_info(part: Any, kind: str) -> MediaInfo:
    download = {
        name: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value)
        for name in _DOWNLOAD_FIELDS
        if (value := getattr(part, name))
    }
    if download:
        download["fileLength"] = str(part.fileLength)
        download["kind"] = kind
        download["mimetype"] = part.mimetype
    return MediaInfo(
        mimetype=part.mimetype,
        size=int(part.fileLength),
        filename=getattr(part, "fileName", ""),
        caption=getattr(part, "caption", ""),
        download=download,
    )


def _text_of(body: Any) -> str:
    """The text of a message body (a new text, or an edit's)."""
    if body.conversation:
        return str(body.conversation)
    if body.HasField("extendedTextMessage"):
        return str(body.extendedTextMessage.text)
    for field in _MEDIA_FIELDS:
        if body.HasField(field):
            return str(getattr(body, field).caption)
    return ""


def _context_of(body: Any) -> Any:
    for field in ("extendedTextMessage", *_MEDIA_FIELDS, *_POLL_FIELDS, "groupInviteMessage"):
        if body.HasField(field):
            part = getattr(body, field)
            return part.contextInfo if part.HasField("contextInfo") else None
    return None


def _sender(source: Any, phone_of: Callable[[Any], str]) -> tuple[str, str]:
    """(the sender's phone JID where known else its LID, the LID when there is one)."""
    sender = source.Sender
    alt = source.SenderAlt
    if sender.Server == "lid":
        lid = jid_text(sender)
        if alt.User and alt.Server != "lid":
            return jid_text(alt), lid
        return phone_of(sender) or lid, lid
    return jid_text(sender), jid_text(alt) if alt.User and alt.Server == "lid" else ""


def message_from_event(
    event: Any,
    *,
    phone_of: Callable[[Any], str],
    poll_vote: Callable[[Any], tuple[str, ...]],
) -> MessageInfo | MessageChange | None:
    """What a ``MessageEv`` says: a message to store, a change to a stored one, or None
    (protocol traffic: key shares, history-sync notices, read receipts' kin).

    ``phone_of`` resolves a LID to a phone JID ('' when unknown); ``poll_vote`` decrypts a
    poll vote event into the SHA-256 digests (hex) of the options chosen."""
    info = event.Info
    body = event.Message
    chat = jid_text(info.MessageSource.Chat)
    sender, sender_lid = _sender(info.MessageSource, phone_of)
    timestamp = epoch(info.Timestamp)
    from_me = bool(info.MessageSource.IsFromMe)

    def change(target: str, kind: str, **fields: Any) -> MessageChange:
        return MessageChange(
            chat=chat,
            id=target,
            change=kind,
            sender=sender,
            sender_lid=sender_lid,
            timestamp=timestamp,
            **fields,
        )

    if body.HasField("protocolMessage"):
        protocol = body.protocolMessage
        if protocol.type == _REVOKE and protocol.key.ID:
            return change(protocol.key.ID, "deleted")
        if protocol.type == _MESSAGE_EDIT and protocol.key.ID:
            return change(protocol.key.ID, "edited", text=_text_of(protocol.editedMessage))
        return None
    if body.HasField("reactionMessage"):
        reaction = body.reactionMessage
        return change(reaction.key.ID, "reaction", emoji=reaction.text)
    if body.HasField("pollUpdateMessage"):
        target = body.pollUpdateMessage.pollCreationMessageKey.ID
        return change(target, "poll_vote", option_hashes=poll_vote(event))
    kind, extra, media = _kind_of(body)
    if kind is None:
        return None
    context = _context_of(body)
    return MessageInfo(
        id=str(info.ID),
        chat=chat,
        sender=sender,
        sender_lid=sender_lid,
        kind=kind,
        timestamp=timestamp,
        from_me=from_me,
        text=_text_of(body),
        quoted_id=str(context.stanzaID) if context is not None else "",
        mentions=tuple(str(jid) for jid in context.mentionedJID) if context is not None else (),
        media=media,
        extra=extra,
    )


def _kind_of(body: Any) -> tuple[str | None, dict[str, Any], MediaInfo | None]:
    """(the kind, its extra, its media) of a message body; kind None for a body that is
    only protocol (a sender-key share with nothing else, an empty message)."""
    if body.conversation or body.HasField("extendedTextMessage"):
        return "text", {}, None
    for field, kind in _MEDIA_FIELDS.items():
        if body.HasField(field):
            return kind, {}, _media_info(getattr(body, field), kind)
    for field in _POLL_FIELDS:
        if body.HasField(field):
            poll = getattr(body, field)
            options = [option.optionName for option in poll.options]
            return (
                "poll",
                {
                    "poll": {
                        "name": poll.name,
                        "options": options,
                        "selectableCount": int(poll.selectableOptionsCount) or len(options),
                    }
                },
                None,
            )
    if body.HasField("groupInviteMessage"):
        invite = body.groupInviteMessage
        return (
            "group_invite",
            {
                "groupInvite": {
                    "groupJid": invite.groupJID,
                    "code": invite.inviteCode,
                    "expiresAt": epoch(invite.inviteExpiration).isoformat().replace("+00:00", "Z"),
                    "subject": invite.groupName,
                }
            },
            None,
        )
    described = [field.name for field, _ in body.ListFields()]
    if not described or all(
        name in ("senderKeyDistributionMessage", "messageContextInfo") for name in described
    ):
        return None, {}, None
    return "other", {}, None


def download_request(download: dict[str, str]) -> dict[str, Any]:
    """The arguments of neonize's ``download_media_with_path`` from a stored descriptor
    (``MediaInfo.download``); KeyError/ValueError when it lacks what that takes."""
    from neonize.utils.enum import MediaType

    media_type = {
        "image": MediaType.MediaImage,
        "video": MediaType.MediaVideo,
        "audio": MediaType.MediaAudio,
        "document": MediaType.MediaDocument,
    }[download["kind"]]
    return {
        "direct_path": download["directPath"],
        "enc_file_hash": base64.b64decode(download["fileEncSHA256"]),
        "file_hash": base64.b64decode(download["fileSHA256"]),
        "media_key": base64.b64decode(download["mediaKey"]),
        "file_length": int(download["fileLength"]),
        "media_type": media_type,
        "mms_type": media_type.to_mms(),
    }


def option_digests(options: list[bytes]) -> tuple[str, ...]:
    """A decrypted vote's options (SHA-256 digests of their names) as hex."""
    return tuple(bytes(option).hex() for option in options)


def option_digest(name: str) -> str:
    """The SHA-256 (hex) by which WhatsApp names a poll option in a vote."""
    return hashlib.sha256(name.encode()).hexdigest()

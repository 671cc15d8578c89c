"""Translation between neonize (whatsmeow) and the gateway: protobufs and error strings."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.exceptions import (
    Conflict,
    GatewayError,
    InvalidInput,
    NotConnected,
    NotFound,
    WhatsAppFailed,
    WhatsAppRateLimited,
    WhatsAppTimedOut,
)
from sessions_app.engines.types import (
    GroupChange,
    GroupInfo,
    JoinRequest,
    ParticipantInfo,
    ParticipantResult,
    participant_result,
)

# whatsmeow: "info query returned status 429: rate-overlimit", "... 406: not-acceptable".
_STATUS_RE = re.compile(r"status (\d{3}): ([\w-]+)")
_NOT_CONNECTED = (
    "websocket not connected",
    "the store doesn't contain a device jid",
    "client is nil",
)
# The request went out before the socket dropped: WhatsApp may have acted on it.
_SENT_THEN_DROPPED = ("websocket disconnected before info query returned response",)
RATE_LIMIT_RETRY_AFTER_SECONDS = 60
# whatsmeow wraps some answers in errors that print only their own text, without the
# "status NNN" of the query (errors.go: ErrInviteLinkRevoked, ErrInviteLinkInvalid,
# ErrGroupNotFound, ErrNotInGroup, ErrGroupInviteLinkUnauthorized, ErrInvalidImageFormat).
# Text → (the gateway's answer, the query status it stands for).
INVITE_REVOKED = "that group invite link has been revoked"
INVITE_INVALID = "that group invite link is not valid"
GROUP_NOT_FOUND = "that group does not exist"
NOT_IN_GROUP = "you're not participating in that group"
INVITE_UNAUTHORIZED = "you don't have the permission to get the group's invite link"
INVALID_IMAGE = "the given data is not a valid image"
_WRAPPED: dict[str, tuple[str, int]] = {
    INVITE_REVOKED: ("not_found", 410),
    INVITE_INVALID: ("not_found", 406),
    GROUP_NOT_FOUND: ("not_found", 404),
    NOT_IN_GROUP: ("not_found", 403),
    INVITE_UNAUTHORIZED: ("not_admin", 401),
    INVALID_IMAGE: ("invalid_image", 406),
}
# A proto2 required field neonize could not fill (a reason outside its enum): Go's
# Marshal fails and the client's event loop ends with this error from connect().
_UNENCODABLE_RE = re.compile(r"required field neonize\.(\w+)\.(\w+) not set")


def jid_text(jid: Any) -> str:
    """``User@Server`` of a neonize JID protobuf (device part dropped); '' when empty."""
    if not jid.User:
        return ""
    return f"{jid.User}@{jid.Server}"


def device_jid_text(jid: Any) -> str:
    """``user:device@server`` (whatsmeow's own spelling, as ``whatsmeow_device.jid``
    stores it), or ``user@server`` for the primary device; '' when empty."""
    if not jid.User:
        return ""
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def jid_from_text(text: str) -> Any:
    """A neonize JID protobuf from ``user[:device]@server``."""
    from neonize.proto.Neonize_pb2 import JID

    user, _, server = text.partition("@")
    user, _, device = user.partition(":")
    return JID(
        User=user,
        Server=server,
        Device=int(device or 0),
        RawAgent=0,
        Integrator=0,
        IsEmpty=False,
    )


def enum_label(event: Any, field: str) -> str:
    """The words of an enum field of an event (``temp banned``), or '' when WhatsApp sent
    a value this protobuf does not know — a closed enum then reads as its first value,
    which would name the wrong reason."""
    if not event.HasField(field):
        return ""
    value = event.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number.get(
        getattr(event, field)
    )
    return value.name.lower().replace("_", " ") if value else ""


def _timestamp(seconds: float) -> datetime | None:
    """None for a missing time (0, or Go's zero time, year 1, which arrives negative)."""
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds and seconds > 0 else None


def group_from_proto(proto: Any) -> GroupInfo:
    """A neonize ``GroupInfo`` protobuf as the gateway's GroupInfo."""
    participants = []
    for member in proto.Participants:
        jid = jid_text(member.JID)
        lid = jid_text(member.LID) if member.HasField("LID") else ""
        # Members addressed by LID carry their phone-number JID alongside: keep both,
        # and answer with the phone number.
        if jid.endswith("@lid"):
            lid = jid
            if member.PhoneNumber.User:
                jid = jid_text(member.PhoneNumber)
        invite = member.AddRequest if member.HasField("AddRequest") else None
        participants.append(
            ParticipantInfo(
                jid=jid,
                is_admin=member.IsAdmin or member.IsSuperAdmin,
                is_super_admin=member.IsSuperAdmin,
                error=member.Error,
                invite_code=invite.Code if invite else "",
                invite_expires_at=_timestamp(invite.Expiration) if invite else None,
                lid=lid if lid.endswith("@lid") else "",
            )
        )
    owner = jid_text(proto.OwnerPN) or jid_text(proto.OwnerJID)
    return GroupInfo(
        jid=jid_text(proto.JID),
        subject=proto.GroupName.Name,
        owner_jid=owner,
        description=proto.GroupTopic.Topic,
        is_announce=proto.GroupAnnounce.IsAnnounce,
        is_locked=proto.GroupLocked.isLocked,
        created_at=_timestamp(proto.GroupCreated),
        participants=tuple(participants),
    )


def participant_outcome(action: str, member: Any) -> ParticipantResult:
    """One ``GroupParticipant`` of neonize's answer to a participant change."""
    jid = jid_text(member.JID)
    if jid.endswith("@lid") and member.PhoneNumber.User:
        jid = jid_text(member.PhoneNumber)
    invite = None
    if member.HasField("AddRequest"):
        invite = (member.AddRequest.Code, _timestamp(member.AddRequest.Expiration))
    return participant_result(action, jid, member.Error, invite)


def change_from_proto(event: Any, *, phone_of: Callable[[Any], str] | None = None) -> GroupChange:
    """A ``GroupInfoEv`` as the changes it reports. Members named by LID (LID-addressed
    groups name nobody else) are given by the phone-number JID ``phone_of(lid)`` finds,
    with the pair kept in ``lids``; one it cannot resolve stays a LID."""
    learnt: list[tuple[str, str]] = []

    def people(jids: Any) -> tuple[str, ...]:
        named = []
        for jid in jids:
            text = jid_text(jid)
            if text.endswith("@lid") and phone_of is not None:
                phone = phone_of(jid)
                if phone:
                    learnt.append((phone, text))
                    text = phone
            named.append(text)
        return tuple(named)

    deleted = event.HasField("Delete") and event.Delete.Deleted
    return GroupChange(
        jid=jid_text(event.JID),
        subject=event.Name.Name if event.HasField("Name") else None,
        description=(
            event.Topic.Topic
            if event.HasField("Topic") and not event.Topic.TopicDeleted
            else ""
            if event.HasField("Topic")
            else None
        ),
        is_announce=event.Announce.IsAnnounce if event.HasField("Announce") else None,
        is_locked=event.Locked.isLocked if event.HasField("Locked") else None,
        joined=people(event.Join),
        left=people(event.Leave),
        promoted=people(event.Promote),
        demoted=people(event.Demote),
        lids=tuple(dict.fromkeys(learnt)),
        gone="deleted" if deleted else "",
    )


def not_admin(details: dict[str, Any]) -> Conflict:
    return Conflict(
        "the account is not an admin of this group", details={**details, "reason": "not_admin"}
    )


def _wrapped_error(text: str, details: dict[str, Any]) -> GatewayError | None:
    lowered = text.lower()
    for phrase, (kind, status) in _WRAPPED.items():
        if phrase in lowered:
            details = {**details, "status": status}
            if kind == "not_admin":
                return not_admin(details)
            if kind == "invalid_image":
                return InvalidInput(
                    "WhatsApp refused the picture", details={**details, "image": [phrase]}
                )
            if phrase in (INVITE_REVOKED, INVITE_INVALID):
                return NotFound("the invite code is revoked or not valid", details=details)
            return NotFound("group not found", details=details)
    return None


def unencodable_event(message: str) -> str:
    """The neonize event whose reason could not be encoded ("TemporaryBan",
    "ConnectFailure", "LoggedOut"), when ``message`` says so; else ''."""
    match = _UNENCODABLE_RE.search(message)
    return match.group(1) if match else ""


def join_request_from_proto(proto: Any) -> JoinRequest:
    """A ``GroupParticipantRequest``: who asks, and when (``TimeAt``, Unix microseconds)."""
    at = proto.TimeAt / 1_000_000 if proto.TimeAt else 0
    return JoinRequest(jid=jid_text(proto.Participant), requested_at=_timestamp(at))


def whatsapp_error(message: str) -> GatewayError:
    """The gateway error for a failure neonize reported as a string."""
    text = message.strip()
    details: dict[str, Any] = {"whatsappError": text[:500]}
    wrapped = _wrapped_error(text, details)
    if wrapped is not None:
        return wrapped
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return WhatsAppTimedOut(details=details)
    if any(marker in lowered for marker in _SENT_THEN_DROPPED):
        return WhatsAppTimedOut(
            "the connection to WhatsApp dropped after the request was sent; the outcome is unknown",
            details=details,
        )
    if any(marker in lowered for marker in _NOT_CONNECTED):
        return NotConnected("session is not connected to WhatsApp", details=details)
    match = _STATUS_RE.search(text)
    if match:
        status, reason = int(match.group(1)), match.group(2)
        details.update(status=status, reason=reason)
        if status == 429:
            error = WhatsAppRateLimited(details=details)
            error.retry_after = RATE_LIMIT_RETRY_AFTER_SECONDS
            return error
        return WhatsAppFailed(f"WhatsApp refused the action: {reason}", details=details)
    return WhatsAppFailed(details=details)

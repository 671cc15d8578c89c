"""Translation between neonize (whatsmeow) and the gateway: protobufs and error strings."""

import re
from datetime import UTC, datetime
from typing import Any

from gateway.exceptions import (
    GatewayError,
    NotConnected,
    WhatsAppFailed,
    WhatsAppRateLimited,
    WhatsAppTimedOut,
)
from sessions_app.engines.types import GroupInfo, ParticipantInfo

# whatsmeow: "info query returned status 429: rate-overlimit", "... 406: not-acceptable".
_STATUS_RE = re.compile(r"status (\d{3}): ([\w-]+)")
_NOT_CONNECTED = ("websocket not connected", "not logged in", "client is nil")
RATE_LIMIT_RETRY_AFTER_SECONDS = 60


def jid_text(jid: Any) -> str:
    """``User@Server`` of a neonize JID protobuf (device part dropped); '' when empty."""
    if not jid.User:
        return ""
    return f"{jid.User}@{jid.Server}"


def device_for_account(devices: Any, account_jid: str) -> Any:
    """In a shared device store, the stored device of this account, as neonize lists it
    (``ClientFactory.get_all_devices_from_db``): its JID user carries the device part
    (``15551234567:12``), which NewClient needs back as is. None when not stored."""
    if not account_jid:
        return None
    number = account_jid.split("@", 1)[0]
    for device in devices:
        if re.split(r"[.:]", device.JID.User, maxsplit=1)[0] == number:
            return device.JID
    return None


def _timestamp(seconds: float) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def group_info(proto: Any) -> GroupInfo:
    """A neonize ``GroupInfo`` protobuf as the gateway's GroupInfo."""
    participants = []
    for member in proto.Participants:
        jid = jid_text(member.JID)
        # Members addressed by LID carry their phone-number JID alongside.
        if jid.endswith("@lid") and member.PhoneNumber.User:
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


def whatsapp_error(message: str) -> GatewayError:
    """The gateway error for a failure neonize reported as a string."""
    text = message.strip()
    details: dict[str, Any] = {"whatsappError": text[:500]}
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return WhatsAppTimedOut(details=details)
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

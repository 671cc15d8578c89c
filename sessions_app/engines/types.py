"""What engines return, independent of WhatsApp's wire format or neonize's protobufs."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# WhatsApp's per-participant result codes when adding someone to a group.
ADDED = 0
NEEDS_INVITE = 403  # their privacy settings only allow an invite
NOT_ON_WHATSAPP = 404
ALREADY_MEMBER = 409

PARTICIPANT_ACTIONS = ("add", "remove", "promote", "demote")
# What a successful change is called, per action.
DONE = {"add": "added", "remove": "removed", "promote": "promoted", "demote": "demoted"}


@dataclass(frozen=True)
class ParticipantInfo:
    # The phone-number JID when WhatsApp gives one; else its LID (…@lid).
    jid: str
    is_admin: bool = False
    is_super_admin: bool = False
    # 0 when WhatsApp added them; otherwise its error code (403 needs an invite, ...).
    error: int = ADDED
    invite_code: str = ""
    invite_expires_at: datetime | None = None
    # WhatsApp's privacy-preserving id for this member (…@lid), when it addressed them so.
    lid: str = ""

    @property
    def is_member(self) -> bool:
        """In the group: added now, or already there (409). Refused ones are not."""
        return self.error in (ADDED, ALREADY_MEMBER)


@dataclass(frozen=True)
class JoinRequest:
    """Someone asking to join a group that needs an admin's approval."""

    jid: str
    requested_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "jid": self.jid,
            "requested_at": self.requested_at.isoformat() if self.requested_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JoinRequest":
        at = data.get("requested_at")
        return cls(jid=str(data["jid"]), requested_at=datetime.fromisoformat(at) if at else None)


@dataclass(frozen=True)
class PairingCode:
    """A code to type on the phone, valid while the pairing window is open."""

    code: str
    expires_at: datetime


@dataclass(frozen=True)
class PendingJoin:
    """A join by invite that WhatsApp filed for an admin's approval: not a member yet."""

    group_jid: str


@dataclass(frozen=True)
class GroupInfo:
    jid: str
    subject: str
    owner_jid: str
    description: str = ""
    is_announce: bool = False
    is_locked: bool = False
    created_at: datetime | None = None
    participants: tuple[ParticipantInfo, ...] = field(default_factory=tuple)

    @property
    def member_count(self) -> int:
        """Members as WhatsApp reported them: those it did not add are not counted."""
        return sum(1 for participant in self.participants if participant.is_member)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the runner's answers to the web process."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        for participant in data["participants"]:
            expires = participant["invite_expires_at"]
            participant["invite_expires_at"] = expires.isoformat() if expires else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GroupInfo":
        participants = tuple(
            ParticipantInfo(
                **{
                    **participant,
                    "invite_expires_at": _parse_time(participant.get("invite_expires_at")),
                }
            )
            for participant in data.get("participants", ())
        )
        return cls(
            **{
                **data,
                "created_at": _parse_time(data.get("created_at")),
                "participants": participants,
            }
        )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ParticipantResult:
    """What WhatsApp answered for one participant of an add/remove/promote/demote."""

    jid: str
    # added, removed, promoted, demoted, needs_invite, not_on_whatsapp, already_member,
    # not_member or failed.
    result: str
    error_code: int | None = None
    invite_code: str = ""
    invite_expires_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.result in DONE.values()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        expires = self.invite_expires_at
        data["invite_expires_at"] = expires.isoformat() if expires else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ParticipantResult":
        return cls(**{**data, "invite_expires_at": _parse_time(data.get("invite_expires_at"))})


def participant_result(
    action: str, jid: str, error: int, invite: tuple[str, datetime | None] | None = None
) -> ParticipantResult:
    """WhatsApp's per-participant code as a result: 0 → the action's past tense; 403 with
    an invite → needs_invite; 404 → not_on_whatsapp; 409 → already_member (adding) or
    not_member; anything else → failed, with the code."""
    if error == 0:
        return ParticipantResult(jid=jid, result=DONE[action])
    if error == NEEDS_INVITE and invite is not None:
        return ParticipantResult(
            jid=jid,
            result="needs_invite",
            error_code=error,
            invite_code=invite[0],
            invite_expires_at=invite[1],
        )
    if error == NOT_ON_WHATSAPP:
        return ParticipantResult(jid=jid, result="not_on_whatsapp", error_code=error)
    if error == ALREADY_MEMBER:
        result = "already_member" if action == "add" else "not_member"
        return ParticipantResult(jid=jid, result=result, error_code=error)
    return ParticipantResult(jid=jid, result="failed", error_code=error)


@dataclass(frozen=True)
class GroupChange:
    """What a group event says changed (only the fields it carries are set)."""

    jid: str
    subject: str | None = None
    description: str | None = None
    is_announce: bool | None = None
    is_locked: bool | None = None
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()
    demoted: tuple[str, ...] = ()
    # (phone-number JID, LID) pairs learnt while resolving members named by LID.
    lids: tuple[tuple[str, str], ...] = ()
    # "deleted" when the event says the group was deleted.
    gone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GroupChange":
        return cls(
            jid=str(data["jid"]),
            subject=data.get("subject"),
            description=data.get("description"),
            is_announce=data.get("is_announce"),
            is_locked=data.get("is_locked"),
            joined=tuple(data.get("joined") or ()),
            left=tuple(data.get("left") or ()),
            promoted=tuple(data.get("promoted") or ()),
            demoted=tuple(data.get("demoted") or ()),
            lids=tuple((str(phone), str(lid)) for phone, lid in data.get("lids") or ()),
            gone=str(data.get("gone") or ""),
        )

"""What engines return, independent of WhatsApp's wire format or neonize's protobufs."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# WhatsApp's per-participant result codes when adding someone to a group.
ADDED = 0
NEEDS_INVITE = 403  # their privacy settings only allow an invite
NOT_ON_WHATSAPP = 404
ALREADY_MEMBER = 409


@dataclass(frozen=True)
class ParticipantInfo:
    jid: str
    is_admin: bool = False
    is_super_admin: bool = False
    # 0 when WhatsApp added them; otherwise its error code (403 needs an invite, ...).
    error: int = ADDED
    invite_code: str = ""
    invite_expires_at: datetime | None = None

    @property
    def is_member(self) -> bool:
        """In the group: added now, or already there (409). Refused ones are not."""
        return self.error in (ADDED, ALREADY_MEMBER)


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

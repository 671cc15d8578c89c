"""The group live actions: rows of the live-action registry (``sessions_app.registry``).

Registered when the app is ready, so both the web process and the runner know them.
Payloads check themselves with the API's own rules (``groups_app.rules``).
"""

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, Self, cast

from gateway.exceptions import InvalidInput
from groups_app.rules import DESCRIPTION_MAX_LENGTH, MAX_INVITED, jpeg_problem, subject_problem
from sessions_app.engines.types import (
    PARTICIPANT_ACTIONS,
    GroupInfo,
    JoinRequest,
    ParticipantResult,
    PendingJoin,
)
from sessions_app.jids import is_group_jid, is_member_jid, is_user_jid
from sessions_app.registry import (
    ActionTarget,
    Empty,
    LiveActionSpec,
    Payload,
    Wire,
    engine_offering,
    register,
)


class GroupOperations(Protocol):
    """What engines offer the group actions below. Each raises NotFound for a group the
    account is not in, and Conflict with details.reason "not_admin" when WhatsApp
    refuses for lack of rights."""

    def create_group(self, *, name: str, participants: list[str]) -> GroupInfo: ...

    def find_created_group(self, *, name: str, since: float) -> GroupInfo | None:
        """After a create whose outcome is unknown: the group WhatsApp made after all
        (subject ``name``, created since the Unix time ``since``), if any."""

    def joined_groups(self) -> list[GroupInfo]: ...

    # Group management. Each raises NotFound for a group the account is not in, and
    # Conflict with details.reason "not_admin" when WhatsApp refuses for lack of rights.

    def update_participants(
        self, *, group_jid: str, action: str, participants: list[str]
    ) -> list[ParticipantResult]: ...

    def set_group_subject(self, *, group_jid: str, subject: str) -> None: ...

    def set_group_description(self, *, group_jid: str, description: str) -> None: ...

    def set_group_announce(self, *, group_jid: str, announce: bool) -> None: ...

    def set_group_locked(self, *, group_jid: str, locked: bool) -> None: ...

    def group_invite_code(self, *, group_jid: str, revoke: bool) -> str: ...

    def leave_group(self, *, group_jid: str) -> None: ...

    def set_group_picture(self, *, group_jid: str, jpeg: bytes) -> str: ...

    def join_requests(self, *, group_jid: str) -> list[JoinRequest]:
        """The people asking to join, and when they asked."""

    def join_group(self, *, code: str) -> GroupInfo | PendingJoin:
        """The group joined, or ``PendingJoin`` when an admin must approve first."""

    def invite_info(self, *, code: str) -> GroupInfo:
        """The group behind an invite code, without joining (NotFound when revoked)."""


def _engine(target: ActionTarget, method: str) -> GroupOperations:
    return cast(GroupOperations, engine_offering(target, method))


def _jid_list(data: Wire, valid: Callable[[str], bool]) -> list[str]:
    """``data["participants"]``: a list of JIDs that ``valid`` accepts, duplicates dropped."""
    participants = data.get("participants")
    if not isinstance(participants, list):
        raise InvalidInput(details={"participants": ["a list is required"]})
    if len(participants) > MAX_INVITED:
        raise InvalidInput(details={"participants": [f"at most {MAX_INVITED} entries"]})
    bad = [
        index
        for index, jid in enumerate(participants)
        if not isinstance(jid, str) or not valid(jid)
    ]
    if bad:
        raise InvalidInput(
            details={"participants": [f"not user JIDs at {bad[:20]} ({len(bad)} in all)"]}
        )
    return list(dict.fromkeys(participants))


def _subject(data: Wire) -> str:
    name = data.get("name")
    problem = "required" if not isinstance(name, str) else subject_problem(name)
    if problem is not None or not isinstance(name, str):
        raise InvalidInput(details={"name": [problem or "required"]})
    return name


@dataclass(frozen=True)
class CreateGroup(Payload):
    name: str
    # May be empty: WhatsApp makes a group of the owner alone (the API asks for more).
    participants: list[str]

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(name=_subject(data), participants=_jid_list(data, is_user_jid))


@dataclass(frozen=True)
class FindCreatedGroup(Payload):
    name: str
    # Unix time: look for groups created since then.
    since: float

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        since = data.get("since")
        if isinstance(since, bool) or not isinstance(since, int | float):
            raise InvalidInput(details={"since": ["a time in seconds is required"]})
        return cls(name=_subject(data), since=float(since))


def _group(info: GroupInfo) -> Wire:
    return {"group": info.to_dict()}


def _maybe_group(info: GroupInfo | None) -> Wire:
    return {"group": info.to_dict() if info else None}


def _joined(joined: GroupInfo | PendingJoin) -> Wire:
    if isinstance(joined, PendingJoin):
        return {"pending_approval": joined.group_jid}
    return _group(joined)


def _joined_from_wire(data: Wire) -> GroupInfo | PendingJoin:
    if isinstance(data.get("pending_approval"), str):
        return PendingJoin(group_jid=data["pending_approval"])
    return GroupInfo.from_dict(data["group"])


def _groups(infos: list[GroupInfo]) -> Wire:
    return {"groups": [info.to_dict() for info in infos]}


def _create_group(target: ActionTarget, payload: CreateGroup) -> GroupInfo:
    return _engine(target, "create_group").create_group(
        name=payload.name, participants=payload.participants
    )


def _find_created_group(target: ActionTarget, payload: FindCreatedGroup) -> GroupInfo | None:
    return _engine(target, "find_created_group").find_created_group(
        name=payload.name, since=payload.since
    )


def _sync_groups(target: ActionTarget, payload: Empty) -> list[GroupInfo]:
    return _engine(target, "joined_groups").joined_groups()


CREATE_GROUP = register(
    LiveActionSpec(
        "create_group",
        CreateGroup,
        _create_group,
        _group,
        lambda data: GroupInfo.from_dict(data["group"]),
        known_groups_before=lambda payload: time.time(),
    )
)
FIND_CREATED_GROUP = register(
    LiveActionSpec(
        "find_created_group",
        FindCreatedGroup,
        _find_created_group,
        _maybe_group,
        lambda data: GroupInfo.from_dict(data["group"]) if data.get("group") else None,
        known_groups_before=lambda payload: payload.since,
    )
)
SYNC_GROUPS = register(
    LiveActionSpec(
        "sync_groups",
        Empty,
        _sync_groups,
        _groups,
        lambda data: [GroupInfo.from_dict(group) for group in data["groups"]],
    )
)


# -- group management ---------------------------------------------------------------------


def _group_jid(data: Wire) -> str:
    jid = data.get("group_jid")
    if not isinstance(jid, str) or not is_group_jid(jid):
        raise InvalidInput(details={"group_jid": ["a group JID (…@g.us) is required"]})
    return jid


def _flag(data: Wire, name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(details={name: ["true or false"]})
    return value


@dataclass(frozen=True)
class ChangeParticipants(Payload):
    group_jid: str
    action: str
    participants: list[str]

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        action = data.get("action")
        if action not in PARTICIPANT_ACTIONS:
            raise InvalidInput(details={"action": [f"one of {', '.join(PARTICIPANT_ACTIONS)}"]})
        # Members WhatsApp knows only by LID are addressed by it (not when adding).
        valid = is_user_jid if action == "add" else is_member_jid
        participants = _jid_list(data, valid)
        if not participants:
            raise InvalidInput(details={"participants": ["at least one"]})
        return cls(group_jid=_group_jid(data), action=str(action), participants=participants)


@dataclass(frozen=True)
class GroupRef(Payload):
    group_jid: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(group_jid=_group_jid(data))


@dataclass(frozen=True)
class SetSubject(Payload):
    group_jid: str
    subject: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(group_jid=_group_jid(data), subject=_subject({"name": data.get("subject")}))


@dataclass(frozen=True)
class SetDescription(Payload):
    group_jid: str
    description: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        description = data.get("description")
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_LENGTH:
            raise InvalidInput(
                details={"description": [f"a string of at most {DESCRIPTION_MAX_LENGTH}"]}
            )
        return cls(group_jid=_group_jid(data), description=description)


@dataclass(frozen=True)
class SetFlag(Payload):
    group_jid: str
    value: bool

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(group_jid=_group_jid(data), value=_flag(data, "value"))


@dataclass(frozen=True)
class InviteLink(Payload):
    group_jid: str
    revoke: bool

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(group_jid=_group_jid(data), revoke=_flag(data, "revoke"))


def _results(results: list[ParticipantResult]) -> Wire:
    return {"results": [result.to_dict() for result in results]}


def _no_result(_: object) -> Wire:
    return {}


def _nothing(_: Wire) -> None:
    return None


CHANGE_PARTICIPANTS = register(
    LiveActionSpec(
        "change_participants",
        ChangeParticipants,
        lambda target, p: _engine(target, "update_participants").update_participants(
            group_jid=p.group_jid, action=p.action, participants=p.participants
        ),
        _results,
        lambda data: [ParticipantResult.from_dict(item) for item in data["results"]],
    )
)
SET_SUBJECT = register(
    LiveActionSpec(
        "set_group_subject",
        SetSubject,
        lambda target, p: _engine(target, "set_group_subject").set_group_subject(
            group_jid=p.group_jid, subject=p.subject
        ),
        _no_result,
        _nothing,
    )
)
SET_DESCRIPTION = register(
    LiveActionSpec(
        "set_group_description",
        SetDescription,
        lambda target, p: _engine(target, "set_group_description").set_group_description(
            group_jid=p.group_jid, description=p.description
        ),
        _no_result,
        _nothing,
    )
)
SET_ANNOUNCE = register(
    LiveActionSpec(
        "set_group_announce",
        SetFlag,
        lambda target, p: _engine(target, "set_group_announce").set_group_announce(
            group_jid=p.group_jid, announce=p.value
        ),
        _no_result,
        _nothing,
    )
)
SET_LOCKED = register(
    LiveActionSpec(
        "set_group_locked",
        SetFlag,
        lambda target, p: _engine(target, "set_group_locked").set_group_locked(
            group_jid=p.group_jid, locked=p.value
        ),
        _no_result,
        _nothing,
    )
)
INVITE_CODE = register(
    LiveActionSpec(
        "group_invite_code",
        InviteLink,
        lambda target, p: _engine(target, "group_invite_code").group_invite_code(
            group_jid=p.group_jid, revoke=p.revoke
        ),
        lambda code: {"code": code},
        lambda data: str(data["code"]),
    )
)
LEAVE_GROUP = register(
    LiveActionSpec(
        "leave_group",
        GroupRef,
        lambda target, p: _engine(target, "leave_group").leave_group(group_jid=p.group_jid),
        _no_result,
        _nothing,
    )
)


INVITE_CODE_RE = re.compile(r"[A-Za-z0-9_-]{6,64}")


def _code(data: Wire) -> str:
    code = data.get("code")
    if not isinstance(code, str) or not INVITE_CODE_RE.fullmatch(code):
        raise InvalidInput(details={"code": ["an invite code (letters, digits, - and _)"]})
    return code


@dataclass(frozen=True)
class InviteCode(Payload):
    code: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        return cls(code=_code(data))


@dataclass(frozen=True)
class SetPicture(Payload):
    group_jid: str
    # The JPEG, base64 on the wire.
    image: str

    @classmethod
    def from_wire(cls, data: Wire) -> Self:
        image = data.get("image")
        if not isinstance(image, str) or jpeg_problem(image) is not None:
            raise InvalidInput(details={"image": [jpeg_problem(image) or "a base64 JPEG"]})
        return cls(group_jid=_group_jid(data), image=image)


SET_PICTURE = register(
    LiveActionSpec(
        "set_group_picture",
        SetPicture,
        lambda target, p: _engine(target, "set_group_picture").set_group_picture(
            group_jid=p.group_jid, jpeg=base64.b64decode(p.image)
        ),
        lambda picture_id: {"picture_id": picture_id},
        lambda data: str(data["picture_id"]),
    )
)
JOIN_REQUESTS = register(
    LiveActionSpec(
        "group_join_requests",
        GroupRef,
        lambda target, p: _engine(target, "join_requests").join_requests(group_jid=p.group_jid),
        lambda requests: {"requests": [request.to_dict() for request in requests]},
        lambda data: [JoinRequest.from_dict(request) for request in data["requests"]],
    )
)
JOIN_GROUP = register(
    LiveActionSpec(
        "join_group",
        InviteCode,
        lambda target, p: _engine(target, "join_group").join_group(code=p.code),
        _joined,
        _joined_from_wire,
    )
)
INVITE_INFO = register(
    LiveActionSpec(
        "group_invite_info",
        InviteCode,
        lambda target, p: _engine(target, "invite_info").invite_info(code=p.code),
        _group,
        lambda data: GroupInfo.from_dict(data["group"]),
    )
)

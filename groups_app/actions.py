"""The group live actions: rows of the live-action registry (``sessions_app.actions``).

Registered when the app is ready, so both the web process and the runner know them.
Payloads check themselves with the API's own rules (``groups_app.rules``).
"""

from dataclasses import dataclass
from typing import Self

from gateway.exceptions import InvalidInput
from groups_app.rules import MAX_INVITED, subject_problem
from sessions_app.actions import (
    ActionTarget,
    Empty,
    LiveActionSpec,
    Payload,
    Wire,
    register,
)
from sessions_app.engines.types import GroupInfo
from sessions_app.jids import is_user_jid


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
        participants = data.get("participants")
        if not isinstance(participants, list):
            raise InvalidInput(details={"participants": ["a list is required"]})
        if len(participants) > MAX_INVITED:
            raise InvalidInput(details={"participants": [f"at most {MAX_INVITED} entries"]})
        bad = [
            index
            for index, jid in enumerate(participants)
            if not isinstance(jid, str) or not is_user_jid(jid)
        ]
        if bad:
            raise InvalidInput(
                details={"participants": [f"not user JIDs at {bad[:20]} ({len(bad)} in all)"]}
            )
        return cls(name=_subject(data), participants=list(dict.fromkeys(participants)))


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


def _groups(infos: list[GroupInfo]) -> Wire:
    return {"groups": [info.to_dict() for info in infos]}


def _create_group(target: ActionTarget, payload: CreateGroup) -> GroupInfo:
    return target.live().create_group(name=payload.name, participants=payload.participants)


def _find_created_group(target: ActionTarget, payload: FindCreatedGroup) -> GroupInfo | None:
    return target.live().find_created_group(name=payload.name, since=payload.since)


def _sync_groups(target: ActionTarget, payload: Empty) -> list[GroupInfo]:
    return target.live().joined_groups()


CREATE_GROUP = register(
    LiveActionSpec(
        "create_group",
        CreateGroup,
        _create_group,
        _group,
        lambda data: GroupInfo.from_dict(data["group"]),
        needs_stored_groups=True,
    )
)
FIND_CREATED_GROUP = register(
    LiveActionSpec(
        "find_created_group",
        FindCreatedGroup,
        _find_created_group,
        _maybe_group,
        lambda data: GroupInfo.from_dict(data["group"]) if data.get("group") else None,
        needs_stored_groups=True,
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

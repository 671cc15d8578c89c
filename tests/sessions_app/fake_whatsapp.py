"""The WhatsApp network, faked at the neonize client: the only thing tests replace.

``FakeNeonizeClient`` has the neonize ``NewClient`` surface the whatsapp engine uses
and answers with neonize's own protobufs and exception classes, worded as whatsmeow
words its errors. Events are delivered through the handlers the engine registered,
exactly as neonize's dispatcher calls them.
"""

import threading
import time
from typing import Any

from neonize.events import ConnectedEv
from neonize.exc import (
    CreateGroupError,
    GetGroupInfoError,
    GetJoinedGroupsError,
    LogoutError,
    NeonizeError,
)
from neonize.proto.Neonize_pb2 import (
    JID,
    GroupAnnounce,
    GroupInfo,
    GroupLocked,
    GroupName,
    GroupParticipant,
    GroupParticipantAddRequest,
    GroupParticipantRequest,
    GroupTopic,
)

OWN = "15550001111"
# When the fake's join request was made: neonize's TimeAt, in Unix microseconds.
REQUESTED_AT_MICROS = 1_760_000_000_250_000


def jid(user: str, server: str = "s.whatsapp.net") -> JID:
    return JID(User=user, Server=server, RawAgent=0, Device=0, Integrator=0, IsEmpty=False)


def group_proto(
    name: str,
    members: list[tuple[str, int]],
    *,
    group_user: str = "120363000000000001",
    created: float | None = None,
) -> GroupInfo:
    """A GroupInfo as WhatsApp returns it: the owner first, then each member with its
    add result (0 added, 403 needs an invite, 409 already in)."""
    participants = [GroupParticipant(JID=jid(OWN), IsAdmin=True, IsSuperAdmin=True)]
    for user, error in members:
        participant = GroupParticipant(JID=jid(user), Error=error)
        if error == 403:
            participant.AddRequest.CopyFrom(
                GroupParticipantAddRequest(Code="invite-code", Expiration=time.time() + 86400)
            )
        participants.append(participant)
    return GroupInfo(
        JID=jid(group_user, "g.us"),
        OwnerJID=jid(OWN),
        GroupName=GroupName(Name=name),
        GroupTopic=GroupTopic(Topic=""),
        GroupLocked=GroupLocked(isLocked=False),
        GroupAnnounce=GroupAnnounce(IsAnnounce=False),
        GroupCreated=created if created is not None else time.time(),
        Participants=participants,
    )


def jid_of(user: str) -> JID:
    return jid(user)


class FakeNeonizeClient:
    def __init__(self) -> None:
        self.handlers: dict[type, Any] = {}
        self.qr_handler: Any = None
        self._stopped = threading.Event()
        self.create_error: str | None = None
        self.create_result: GroupInfo | None = None
        self.joined: list[GroupInfo] = []
        self.created: list[tuple[str, list[str]]] = []
        self.dial_error: str | None = None
        self.group_calls: list[tuple[Any, ...]] = []
        self.group_errors: dict[str, str] = {}
        self.participant_answer: list[GroupParticipant] = []
        self.join_pending = False
        # LID user → phone-number user, as whatsmeow's LID map knows them.
        self.lid_phones: dict[str, str] = {}
        # Called inside create_group, before it answers (WhatsApp's events meanwhile).
        self.during_create: Any = None
        self.joined_lookup_error: str | None = None
        self.photos: list[bytes] = []

    # registration, as neonize's Event API
    def qr(self, handler: Any) -> None:
        self.qr_handler = handler

    def event(self, event_type: type) -> Any:
        def register(handler: Any) -> None:
            self.handlers[event_type] = handler

        return register

    def deliver(self, event: Any) -> None:
        self.handlers[type(event)](self, event)

    # lifecycle
    def connect(self) -> None:
        if self.dial_error:
            raise NeonizeError(self.dial_error)
        self.deliver(ConnectedEv(status=True))
        self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    # calls
    def create_group(self, name: str, participants: list[JID]) -> GroupInfo:
        self.created.append((name, [p.User for p in participants]))
        if self.during_create is not None:
            self.during_create()
        if self.create_error:
            raise CreateGroupError(self.create_error)
        assert self.create_result is not None
        return self.create_result

    def get_joined_groups(self) -> list[GroupInfo]:
        if self.create_error == "websocket not connected":
            raise GetJoinedGroupsError("websocket not connected")
        if self.joined_lookup_error:
            raise GetJoinedGroupsError(self.joined_lookup_error)
        return list(self.joined)

    def get_group_info(self, group: JID) -> GroupInfo:
        if self.create_error == "websocket not connected":
            raise GetGroupInfoError("websocket not connected")
        for info in self.joined:
            if info.JID.User == group.User:
                return info
        # whatsmeow wraps the 403 of a group we are not in: its text alone.
        raise GetGroupInfoError("you're not participating in that group")

    def get_pn_from_lid(self, lid: JID) -> JID:
        """As whatsmeow answers: the phone-number JID, or an empty JID when unknown."""
        phone = self.lid_phones.get(lid.User)
        return jid(phone) if phone else JID(User="", Server="", RawAgent=0, Device=0, Integrator=0)

    def PairPhone(self, phone: str, show_push_notification: bool) -> str:
        return "ABCD-EFGH"

    def logout(self) -> None:
        if self.create_error == "websocket not connected":
            raise LogoutError("websocket not connected")

    # group management, as neonize's client names it; each call is recorded, and
    # ``group_errors[method]`` makes it fail as whatsmeow words it
    def _group(self, method: str, *args: Any) -> None:
        self.group_calls.append((method, *args))
        if method in self.group_errors:
            raise NeonizeError(self.group_errors[method])

    def update_group_participants(self, jid: JID, participants: list[JID], action: Any) -> Any:
        self._group("update_group_participants", jid.User, [p.User for p in participants])
        self.participant_servers = [p.Server for p in participants]
        return list(self.participant_answer)

    def set_group_name(self, jid: JID, name: str) -> None:
        self._group("set_group_name", jid.User, name)

    def set_group_topic(self, jid: JID, previous_id: str, new_id: str, topic: str) -> None:
        self._group("set_group_topic", jid.User, previous_id, new_id, topic)

    def set_group_announce(self, jid: JID, announce: bool) -> None:
        self._group("set_group_announce", jid.User, announce)

    def set_group_locked(self, jid: JID, locked: bool) -> None:
        self._group("set_group_locked", jid.User, locked)

    def get_group_invite_link(self, jid: JID, revoke: bool = False) -> str:
        self._group("get_group_invite_link", jid.User, revoke)
        return "https://chat.whatsapp.com/" + ("NewCode123" if revoke else "Code123")

    def leave_group(self, jid: JID) -> None:
        self._group("leave_group", jid.User)

    def set_group_photo(self, jid: JID, file_or_bytes: bytes) -> str:
        self._group("set_group_photo", jid.User, len(file_or_bytes))
        self.photos.append(file_or_bytes)
        return "picture-77"

    def get_group_request_participants(self, jid: JID) -> list[GroupParticipantRequest]:
        """As neonize 0.5.2 answers: ``GroupParticipantRequest``s, not JIDs."""
        self._group("get_group_request_participants", jid.User)
        return [
            GroupParticipantRequest(Participant=jid_of("15551230009"), TimeAt=REQUESTED_AT_MICROS)
        ]

    def join_group_with_link(self, code: str) -> JID:
        self._group("join_group_with_link", code)
        if self.join_pending:
            # An approval-required group: its JID and no error, but we are not in it.
            return jid("120363000000000321", "g.us")
        return self.joined[0].JID

    def get_group_info_from_link(self, code: str) -> GroupInfo:
        self._group("get_group_info_from_link", code)
        return self.joined[0]


def complete(message: Any) -> Any:
    """Fills every required field neonize's proto2 messages leave unset with its zero
    value (WhatsApp always sends them), so the message serialises like a real one."""
    import re

    for path in message.FindInitializationErrors():
        target = message
        parts = path.split(".")
        for part in parts[:-1]:
            match = re.fullmatch(r"(\w+)\[(\d+)\]", part)
            target = (
                getattr(target, match.group(1))[int(match.group(2))]
                if match
                else getattr(target, part)
            )
        leaf = parts[-1]
        field = target.DESCRIPTOR.fields_by_name[leaf]
        if field.message_type is not None:
            getattr(target, leaf).SetInParent()
        elif field.enum_type is not None:
            setattr(target, leaf, field.enum_type.values[0].number)
        elif field.type == field.TYPE_STRING:
            setattr(target, leaf, "")
        elif field.type == field.TYPE_BOOL:
            setattr(target, leaf, False)
        elif field.type == field.TYPE_BYTES:
            setattr(target, leaf, b"")
        else:
            setattr(target, leaf, 0)
    if message.FindInitializationErrors():
        return complete(message)  # nested messages just created have their own
    return message

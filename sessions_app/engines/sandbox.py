"""The sandbox engine: a simulated WhatsApp account for development and tests.

It never touches the network. Its behaviour is fixed and documented (README, "The
sandbox engine") so integrators can write tests against it:

- connecting succeeds at once; the account is ``1555099NNNN@s.whatsapp.net``, where
  NNNN is derived from the session id (stable for a session);
- a created group gets a JID like WhatsApp's own: ``120363`` + 12 digits + ``@g.us``;
- participants whose number starts with ``1555403`` behave as "privacy settings forbid
  adding": WhatsApp skips them with error 403 and an invite code;
- participants whose number starts with ``1555404`` behave as "not on WhatsApp": skipped
  with error 404;
- everyone else is added;
- a sync returns the groups stored for the session (the sandbox's "WhatsApp" is the
  gateway's own store); logging out unlinks at once; it never needs pairing;
- group management follows the stored group: the account must be an admin of it (else
  409 not_admin); adding uses the number ranges above (and 409 for a member already
  in); removing, promoting or demoting someone not in the group answers not_member; an
  invite code is stable until revoked, and works from any sandbox session (joining adds
  the joining account as a member; a revoked code is 404); nobody ever asks to join; a
  group picture's id is derived from the image.
- messages: sending follows the stored groups (the account must be in a group, and an
  admin of an announce-only one or of the group whose invite it sends); a repeat of a
  message id returns the first send (nothing is sent twice). After a ``text`` to a group
  with a member besides the account, the first such member (lowest JID) answers within
  2 s: ``"echo: " + text``, quoting it; after a ``poll`` that member votes for the first
  option. A text ``"sandbox:burst N"`` (N ≤ 10,000) makes that member send N messages
  at once instead (``"burst i of N"``), for load tests. Media sent is kept in memory
  for ``GET …/media`` while the session stays connected.
"""

import hashlib
import re
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.exceptions import Conflict, NotFound
from sessions_app import jids
from sessions_app.engines.base import EndedCallback, StateSink
from sessions_app.engines.messages import (
    MEDIA_KINDS,
    MediaContent,
    MediaInfo,
    MessageChange,
    MessageInfo,
    OutgoingMessage,
)
from sessions_app.engines.types import (
    ADDED,
    ALREADY_MEMBER,
    NEEDS_INVITE,
    NOT_ON_WHATSAPP,
    GroupInfo,
    JoinRequest,
    PairingCode,
    ParticipantInfo,
    ParticipantResult,
    participant_result,
)
from sessions_app.exceptions import SessionNotConnected
from sessions_app.status import SessionStatus

ACCOUNT_PREFIX = "1555099"
PRIVACY_BLOCKED_PREFIX = "1555403"
NOT_ON_WHATSAPP_PREFIX = "1555404"
GROUP_JID_PREFIX = "120363"
INVITE_LIFETIME = timedelta(days=3)
# How long the sandbox's echo member takes to answer.
ECHO_DELAY_SECONDS = 0.3
BURST_RE = re.compile(r"^sandbox:burst ([0-9]{1,5})$")
BURST_MAX = 10_000


def account_jid(session_id: str) -> str:
    digest = hashlib.sha256(session_id.encode("ascii")).digest()
    suffix = int.from_bytes(digest[:4], "big") % 10_000
    return jids.user_jid(f"{ACCOUNT_PREFIX}{suffix:04d}")


def add_result(jid: str) -> int:
    number = jids.user_of(jid)
    if number.startswith(PRIVACY_BLOCKED_PREFIX):
        return NEEDS_INVITE
    if number.startswith(NOT_ON_WHATSAPP_PREFIX):
        return NOT_ON_WHATSAPP
    return ADDED


class SandboxLiveSession:
    def __init__(
        self, *, session_id: str, name: str, sink: StateSink, on_ended: EndedCallback
    ) -> None:
        self.session_id = session_id
        self.name = name
        self.account = account_jid(session_id)
        self._sink = sink
        self._on_ended = on_ended
        self._connected = False
        self._sent: dict[str, MessageInfo] = {}
        self._media: dict[tuple[str, str], MediaContent] = {}
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self._connected = True
        self._sink.status(
            SessionStatus.CONNECTED,
            jid=self.account,
            push_name=f"Sandbox {self.name or self.session_id}",
        )

    def stop(self) -> None:
        self._connected = False

    def _require_connected(self) -> None:
        if not self._connected:
            raise SessionNotConnected()

    def create_group(self, *, name: str, participants: list[str]) -> GroupInfo:
        self._require_connected()
        now = datetime.now(tz=UTC)
        members = [ParticipantInfo(jid=self.account, is_admin=True, is_super_admin=True)]
        for jid in participants:
            error = add_result(jid)
            invited = error == NEEDS_INVITE
            members.append(
                ParticipantInfo(
                    jid=jid,
                    error=error,
                    invite_code=secrets.token_urlsafe(12) if invited else "",
                    invite_expires_at=now + INVITE_LIFETIME if invited else None,
                )
            )
        group_number = f"{GROUP_JID_PREFIX}{secrets.randbelow(10**12):012d}"
        return GroupInfo(
            jid=f"{group_number}@{jids.GROUP_SERVER}",
            subject=name,
            owner_jid=self.account,
            created_at=now,
            participants=tuple(members),
        )

    def find_created_group(self, *, name: str, since: float) -> GroupInfo | None:
        return None  # the sandbox always answers: no create's outcome is ever unknown

    def joined_groups(self) -> list[GroupInfo]:
        self._require_connected()
        return self._sink.stored_groups()  # the sandbox's memory is the store

    def pair_code(self, *, phone: str) -> PairingCode:
        raise Conflict("sandbox sessions connect without pairing")

    def logout(self) -> None:
        self._connected = False
        self._sink.status(SessionStatus.LOGGED_OUT, "logged out by request", keep_connecting=False)

    # -- group management (the store is the sandbox's WhatsApp) ---------------------------

    def _group(self, group_jid: str) -> GroupInfo:
        self._require_connected()
        for info in self._sink.stored_groups():
            if info.jid == group_jid:
                return info
        raise NotFound("group not found", details={"groupJid": group_jid})

    def _require_admin(self, info: GroupInfo) -> None:
        me = next((p for p in info.participants if p.jid == self.account), None)
        if me is None or not (me.is_admin or me.is_super_admin):
            raise Conflict(
                "the account is not an admin of this group", details={"reason": "not_admin"}
            )

    def update_participants(
        self, *, group_jid: str, action: str, participants: list[str]
    ) -> list[ParticipantResult]:
        info = self._group(group_jid)
        self._require_admin(info)
        members = {p.jid: p for p in info.participants if p.is_member}
        now = datetime.now(tz=UTC)
        results = []
        for jid in participants:
            if action == "add":
                error = ALREADY_MEMBER if jid in members else add_result(jid)
                invite = (secrets.token_urlsafe(12), now + INVITE_LIFETIME)
                results.append(participant_result(action, jid, error, invite))
            elif jid not in members:
                results.append(participant_result(action, jid, ALREADY_MEMBER))
            else:
                results.append(participant_result(action, jid, ADDED))
        return results

    def set_group_subject(self, *, group_jid: str, subject: str) -> None:
        self._require_admin(self._group(group_jid))

    def set_group_description(self, *, group_jid: str, description: str) -> None:
        self._require_admin(self._group(group_jid))

    def set_group_announce(self, *, group_jid: str, announce: bool) -> None:
        self._require_admin(self._group(group_jid))

    def set_group_locked(self, *, group_jid: str, locked: bool) -> None:
        self._require_admin(self._group(group_jid))

    def group_invite_code(self, *, group_jid: str, revoke: bool) -> str:
        self._require_admin(self._group(group_jid))
        current = self._sink.stored_invite_code(group_jid)
        return current if current and not revoke else secrets.token_urlsafe(16)[:22]

    def leave_group(self, *, group_jid: str) -> None:
        self._group(group_jid)

    def set_group_picture(self, *, group_jid: str, jpeg: bytes) -> str:
        self._require_admin(self._group(group_jid))
        return hashlib.sha256(jpeg).hexdigest()[:16]

    def join_requests(self, *, group_jid: str) -> list[JoinRequest]:
        self._require_admin(self._group(group_jid))
        return []  # nobody asks to join a sandbox group

    def _invited(self, code: str) -> GroupInfo:
        self._require_connected()
        info = self._sink.group_by_invite_code(code)
        if info is None:
            raise NotFound("no group has this invite code (revoked, or never issued)")
        return info

    def invite_info(self, *, code: str) -> GroupInfo:
        return self._invited(code)

    def join_group(self, *, code: str) -> GroupInfo:
        info = self._invited(code)
        others = tuple(p for p in info.participants if p.jid != self.account)
        return replace(info, participants=(*others, ParticipantInfo(jid=self.account)))

    # -- messages (the store's groups are the sandbox's chats) -----------------------------

    def send_message(self, *, message: OutgoingMessage, message_id: str) -> MessageInfo:
        self._require_connected()
        with self._lock:
            first = self._sent.get(message_id)
        if first is not None:
            return first  # WhatsApp's apps keep one message per id: nothing new is sent
        group = self._group(message.to) if jids.is_group_jid(message.to) else None
        if group is not None:
            self._require_member(group)
            if group.is_announce:
                self._require_admin(group)
        extra: dict[str, object] = {}
        if message.kind == "group_invite":
            invited = self._group(message.group_jid)
            self._require_admin(invited)
            code = self._sink.stored_invite_code(invited.jid) or secrets.token_urlsafe(16)[:22]
            expires = datetime.now(tz=UTC) + INVITE_LIFETIME
            extra["groupInvite"] = {
                "groupJid": invited.jid,
                "code": code,
                "expiresAt": expires.isoformat().replace("+00:00", "Z"),
                "subject": invited.subject,
            }
        elif message.kind == "poll":
            extra["poll"] = {
                "name": message.poll_name,
                "options": list(message.poll_options),
                "selectableCount": message.selectable_count,
            }
        elif message.kind == "reaction":
            extra["reaction"] = {"messageId": message.reaction_to, "emoji": message.emoji}
        media = None
        if message.kind in MEDIA_KINDS:
            media = MediaInfo(
                mimetype=message.mimetype,
                size=len(message.media),
                filename=message.filename,
                caption=message.caption,
            )
        sent = MessageInfo(
            id=message_id,
            chat=message.to,
            sender=self.account,
            kind=message.kind,
            timestamp=datetime.now(tz=UTC),
            from_me=True,
            text=message.text,
            quoted_id=message.reply_to,
            mentions=message.mentions,
            media=media,
            extra=extra,
        )
        with self._lock:
            self._sent[message_id] = sent
            if media is not None:
                self._media[(message.to, message_id)] = MediaContent(
                    message.media, message.mimetype
                )
        if group is not None:
            self._answer_later(group, sent, message)
        return sent

    def message_media(
        self, *, chat: str, message_id: str, download: dict[str, str]
    ) -> MediaContent:
        self._require_connected()
        with self._lock:
            content = self._media.get((chat, message_id))
        if content is None:
            raise NotFound("this message has no media the sandbox still holds")
        return content

    def _require_member(self, info: GroupInfo) -> None:
        if not any(p.jid == self.account and p.is_member for p in info.participants):
            raise Conflict(
                "the account is not a member of this group", details={"reason": "not_member"}
            )

    def _answer_later(self, group: GroupInfo, sent: MessageInfo, message: OutgoingMessage) -> None:
        others = sorted(p.jid for p in group.participants if p.is_member and p.jid != self.account)
        if not others or message.kind not in ("text", "poll"):
            return
        member = others[0]
        timer = threading.Timer(
            ECHO_DELAY_SECONDS, self._answer, args=(group.jid, member, sent, message)
        )
        timer.daemon = True
        timer.start()

    def _answer(self, chat: str, member: str, sent: MessageInfo, message: OutgoingMessage) -> None:
        try:
            if not self._connected:
                return
            now = datetime.now(tz=UTC)
            if message.kind == "poll":
                self._sink.message_changed(
                    MessageChange(
                        chat=chat,
                        id=sent.id,
                        change="poll_vote",
                        sender=member,
                        timestamp=now,
                        options=message.poll_options[:1],
                    )
                )
                return
            burst = BURST_RE.fullmatch(message.text)
            count = min(int(burst.group(1)), BURST_MAX) if burst else 1
            for number in range(count):
                text = f"burst {number + 1} of {count}" if burst else f"echo: {message.text}"
                digest = hashlib.sha256(f"{sent.id}:{number}".encode()).hexdigest()
                self._sink.message_seen(
                    MessageInfo(
                        id=f"SBX{digest[:17].upper()}",
                        chat=chat,
                        sender=member,
                        kind="text",
                        timestamp=now,
                        text=text,
                        quoted_id=sent.id,
                    )
                )
        finally:
            self._sink.done()

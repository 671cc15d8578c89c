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
- everyone else is added.
"""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from sessions_app import jids
from sessions_app.engines.types import (
    ADDED,
    NEEDS_INVITE,
    NOT_ON_WHATSAPP,
    AccountInfo,
    GroupInfo,
    ParticipantInfo,
)
from sessions_app.models import WhatsAppSession

ACCOUNT_PREFIX = "1555099"
PRIVACY_BLOCKED_PREFIX = "1555403"
NOT_ON_WHATSAPP_PREFIX = "1555404"
GROUP_JID_PREFIX = "120363"
INVITE_LIFETIME = timedelta(days=3)


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


class SandboxEngine:
    def connect(self, *, session: WhatsAppSession) -> AccountInfo:
        return AccountInfo(
            jid=account_jid(session.id), push_name=f"Sandbox {session.name or session.id}"
        )

    def create_group(
        self, *, session: WhatsAppSession, name: str, participants: list[str]
    ) -> GroupInfo:
        now = timezone.now()
        owner = session.jid or account_jid(session.id)
        members = [ParticipantInfo(jid=owner, is_admin=True, is_super_admin=True)]
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
            owner_jid=owner,
            created_at=now,
            participants=tuple(members),
        )

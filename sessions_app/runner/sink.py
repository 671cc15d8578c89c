"""The runner's state sink: what live sessions report, written to the database, and what
they may ask of the store."""

import logging
from datetime import datetime

from django.db import connections

from groups_app.store import (
    apply_group_change,
    group_by_invite_code,
    group_infos,
    group_remove,
    group_store_synced,
    not_known_before,
    stored_invite_code,
)
from messages_app.store import message_change_apply, message_store
from sessions_app import device_store
from sessions_app.engines.messages import MessageChange, MessageInfo
from sessions_app.engines.types import GroupChange, GroupInfo
from sessions_app.leases import Fence, is_current
from sessions_app.models import WhatsAppSession
from sessions_app.transitions import session_record_qr, session_record_status

logger = logging.getLogger(__name__)


def _fresh_connections() -> None:
    """Drops this thread's connections that went stale while it waited for WhatsApp
    (as Django does between requests), except one inside a transaction."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


class DatabaseSink:
    """Synchronous, called from the engine's long-lived threads: each call first drops a
    database connection that has gone stale, and ``done`` closes the thread's own.

    With a ``fence`` (a runner of the fleet), every write is made only while the fence's
    token is still the session's: a runner that lost its lease writes nothing."""

    def __init__(self, session_id: str, fence: Fence | None = None) -> None:
        self.session_id = session_id
        self.fence = fence

    def _current(self) -> bool:
        if self.fence is None or is_current(self.session_id, self.fence):
            return True
        logger.warning("session %s: lease lost; report not recorded", self.session_id)
        return False

    def status(
        self,
        status: str,
        reason: str = "",
        *,
        jid: str | None = None,
        device_jid: str | None = None,
        push_name: str | None = None,
        keep_connecting: bool = True,
    ) -> None:
        _fresh_connections()
        session_record_status(
            session_id=self.session_id,
            status=status,
            reason=reason,
            jid=jid,
            device_jid=device_jid,
            push_name=push_name,
            keep_connecting=keep_connecting,
            fence=self.fence,
        )

    def qr(self, code: str, expires_at: datetime) -> None:
        _fresh_connections()
        session_record_qr(
            session_id=self.session_id, code=code, expires_at=expires_at, fence=self.fence
        )

    def groups(
        self,
        infos: list[GroupInfo],
        *,
        complete: bool,
        fetch_started: datetime | None = None,
        created: bool = False,
    ) -> None:
        _fresh_connections()
        if not self._current():
            return
        group_store_synced(
            session_id=self.session_id,
            infos=infos,
            complete=complete,
            fetch_started=fetch_started,
            created=created,
        )

    def group_changed(self, change: GroupChange) -> None:
        _fresh_connections()
        if self._current():
            apply_group_change(session_id=self.session_id, change=change)

    def group_gone(self, group_jid: str, reason: str) -> None:
        _fresh_connections()
        if self._current():
            group_remove(session_id=self.session_id, group_jid=group_jid, reason=reason)

    def message_seen(self, info: MessageInfo) -> None:
        _fresh_connections()
        if self._current():
            message_store(session_id=self.session_id, info=info, announce=True)

    def message_changed(self, change: MessageChange) -> None:
        _fresh_connections()
        if self._current():
            message_change_apply(session_id=self.session_id, change=change)

    def stored_groups(self) -> list[GroupInfo]:
        _fresh_connections()
        return group_infos(session_id=self.session_id)

    def groups_not_known_before(self, infos: list[GroupInfo], *, since: float) -> list[GroupInfo]:
        _fresh_connections()
        return not_known_before(session_id=self.session_id, infos=infos, since=since)

    def stored_invite_code(self, group_jid: str) -> str:
        _fresh_connections()
        return stored_invite_code(session_id=self.session_id, group_jid=group_jid)

    def group_by_invite_code(self, code: str) -> GroupInfo | None:
        _fresh_connections()
        return group_by_invite_code(code=code)

    def forget_device(self) -> None:
        _fresh_connections()
        if not self._current():
            return
        device = WhatsAppSession.objects.filter(pk=self.session_id).values_list(
            "device_jid", flat=True
        )
        device_store.remove(self.session_id, device_jid=device.first() or "")

    def done(self) -> None:
        connections.close_all()

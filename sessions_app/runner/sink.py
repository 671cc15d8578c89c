"""The runner's state sink: what live sessions report, written to the database."""

from datetime import datetime

from groups_app.services import group_store_synced
from sessions_app.engines.types import GroupInfo
from sessions_app.services import session_record_qr, session_record_status


class DatabaseSink:
    """Synchronous: callers on long-lived threads refresh their database connection
    (``close_old_connections``) before handing work here."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    def status(
        self,
        status: str,
        reason: str = "",
        *,
        jid: str | None = None,
        push_name: str | None = None,
        keep_connecting: bool = True,
    ) -> None:
        session_record_status(
            session_id=self.session_id,
            status=status,
            reason=reason,
            jid=jid,
            push_name=push_name,
            keep_connecting=keep_connecting,
        )

    def qr(self, code: str, expires_at: datetime) -> None:
        session_record_qr(session_id=self.session_id, code=code, expires_at=expires_at)

    def groups(
        self, infos: list[GroupInfo], *, complete: bool, fetch_started: datetime | None = None
    ) -> None:
        group_store_synced(
            session_id=self.session_id,
            infos=infos,
            complete=complete,
            fetch_started=fetch_started,
        )

"""Operations on WhatsApp sessions.

The web-facing ones (create, connect, logout, pair code, delete) ask the session runner
through ``sessions_app.live``; the ``session_record_*`` ones are how the runner writes
what its live sessions report.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import Conflict, InvalidInput, RunnerUnavailable
from sessions_app import device_store, live
from sessions_app.exceptions import SessionNotConnected
from sessions_app.models import Engine, SessionEvent, SessionStatus, WhatsAppSession

# After these the operator must act; connecting again starts afresh.
_TERMINAL = {SessionStatus.LOGGED_OUT, SessionStatus.BANNED, SessionStatus.FAILED}


def session_create(*, organization: Organization, engine: str, name: str = "") -> WhatsAppSession:
    """Attaches a number. An organization holds at most ``GATEWAY_MAX_SESSIONS_PER_ORG``
    sessions: the organization's row is locked while counting (PostgreSQL; SQLite's
    IMMEDIATE transactions serialise writers anyway), so racing creations cannot pass it."""
    if engine not in Engine.values:
        raise InvalidInput(details={"engine": [f"must be one of: {', '.join(Engine.values)}"]})
    limit = settings.GATEWAY_MAX_SESSIONS_PER_ORG
    with transaction.atomic():
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values("pk"))
        if WhatsAppSession.objects.filter(organization=organization).count() >= limit:
            raise Conflict(
                f"the organization already has {limit} sessions, the most it may hold; "
                "delete one first",
                details={"reason": "session_limit", "limit": limit},
            )
        return WhatsAppSession.objects.create(organization=organization, engine=engine, name=name)


def _mark_wanted(session: WhatsAppSession) -> None:
    updates: dict[str, object] = {"desired_connected": True, "updated_at": timezone.now()}
    with transaction.atomic():
        if session.status != SessionStatus.CONNECTED:
            reason = "waiting for the runner"
            _record_event(session_id=session.id, status=SessionStatus.CONNECTING, reason=reason)
            updates.update(status=SessionStatus.CONNECTING, status_reason=reason)
        WhatsAppSession.objects.filter(pk=session.pk).update(**updates)


def session_want_connected(*, session: WhatsAppSession) -> WhatsAppSession:
    """Records that the session should be connected; the runner acts on it within
    seconds, or when it starts."""
    _mark_wanted(session)
    session.refresh_from_db()
    return session


def session_connect(*, session: WhatsAppSession) -> WhatsAppSession:
    """Marks the session as wanted connected and asks the runner to start it now.

    The wish is recorded first, so a runner that is down picks the session up when it
    starts; the caller still learns (RunnerUnavailable) that nothing happens until then.
    """
    _mark_wanted(session)
    live.connect(session_id=session.id)
    session.refresh_from_db()
    return session


def session_logout(*, session: WhatsAppSession) -> WhatsAppSession:
    """Unlinks the device from the WhatsApp account and stops connecting."""
    if session.status == SessionStatus.LOGGED_OUT:
        raise Conflict("session is already logged out")
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    # The runner records the outcome (logged_out, no longer wanted) before it answers.
    live.logout(session_id=session.id)
    session.refresh_from_db()
    return session


def session_pair_code(*, session: WhatsAppSession, phone: str) -> str:
    if session.status != SessionStatus.PAIRING:
        raise Conflict(
            "session is not pairing: connect it and wait for the QR first",
            details={"status": session.status},
        )
    return live.pair_code(session_id=session.id, phone=phone)


def session_current_qr(*, session: WhatsAppSession) -> tuple[str, datetime]:
    now = timezone.now()
    if (
        session.status != SessionStatus.PAIRING
        or not session.qr_code
        or session.qr_expires_at is None
        or session.qr_expires_at <= now
    ):
        raise Conflict(
            "no pairing QR: the session is not pairing", details={"status": session.status}
        )
    return session.qr_code, session.qr_expires_at


def session_delete(*, session: WhatsAppSession) -> None:
    """Logs a linked whatsapp session out, stops it and deletes it with its device keys
    and stored groups."""
    if session.engine == Engine.WHATSAPP and session.jid and session.status not in _TERMINAL:
        # Still linked: unlink on WhatsApp first, or the phone keeps a ghost device.
        if not session.is_connected:
            raise Conflict(
                "session is linked but not connected: connect it so it can log out, "
                "or log it out from the phone first",
                details={"status": session.status},
            )
        live.logout(session_id=session.id)
    try:
        live.release(session_id=session.id)
    except RunnerUnavailable:
        if session.engine == Engine.WHATSAPP and device_store.is_shared():
            raise  # only the runner can remove keys from a shared store
    device_store.remove(session.id)
    session.delete()


# -- what the runner records ----------------------------------------------------------


def session_record_status(
    *,
    session_id: str,
    status: str,
    reason: str = "",
    jid: str | None = None,
    push_name: str | None = None,
    keep_connecting: bool = True,
) -> None:
    now = timezone.now()
    updates: dict[str, object] = {
        "status": status,
        "status_reason": reason,
        "last_seen_at": now,
        "updated_at": now,
    }
    if jid:
        updates["jid"] = jid
    if push_name:
        updates["push_name"] = push_name
    if status != SessionStatus.PAIRING:
        updates.update(qr_code="", qr_expires_at=None)
    if status == SessionStatus.LOGGED_OUT:
        updates.update(jid="", push_name="", connected_at=None)
    if not keep_connecting:
        updates["desired_connected"] = False
    with transaction.atomic():
        _record_event(session_id=session_id, status=status, reason=reason)
        if status == SessionStatus.CONNECTED:
            # "Connected since": set on the transition, kept while it stays connected.
            WhatsAppSession.objects.filter(pk=session_id).exclude(
                status=SessionStatus.CONNECTED
            ).update(connected_at=now)
        WhatsAppSession.objects.filter(pk=session_id).update(**updates)


def session_record_qr(*, session_id: str, code: str, expires_at: datetime) -> None:
    reason = "waiting for the QR to be scanned (or a pairing code)"
    with transaction.atomic():
        _record_event(session_id=session_id, status=SessionStatus.PAIRING, reason=reason)
        WhatsAppSession.objects.filter(pk=session_id).update(
            status=SessionStatus.PAIRING,
            status_reason=reason,
            qr_code=code,
            qr_expires_at=expires_at,
            last_seen_at=timezone.now(),
            updated_at=timezone.now(),
        )


def _record_event(*, session_id: str, status: str, reason: str) -> None:
    """Appends to the connection history when the status or its reason changes (a QR
    rotating or a repeated report is not news), keeping the newest HISTORY_KEPT."""
    current = (
        WhatsAppSession.objects.select_for_update()
        .filter(pk=session_id)
        .values_list("status", "status_reason")
        .first()
    )
    if current is None or current == (status, reason):
        return
    SessionEvent.objects.create(session_id=session_id, status=status, reason=reason)
    stale = list(
        SessionEvent.objects.filter(session_id=session_id).values_list("id", flat=True)[
            SessionEvent.HISTORY_KEPT :
        ]
    )
    if stale:
        SessionEvent.objects.filter(id__in=stale).delete()

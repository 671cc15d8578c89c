"""The one place a session's connection state changes.

Every writer — the runner recording what a live session reports, a web process marking
a session wanted — goes through ``session_transition``. What a status means for the rest
of the row is written here as rules, once:

1. A report sets the status, its reason and "last seen", and appends to the connection
   history when the status or the reason changed (a rotating QR is not news).
2. Only ``pairing`` has a QR: any other status clears it; a QR report stores it.
3. ``logged_out`` forgets the account: its JID, device JID, push name and "connected
   since".
4. A terminal status (``TERMINAL_STATUSES``: logged out, banned, failed), or a report
   that says no retry can help (``keep_connecting=False``, e.g. pairing timed out), ends
   the wish to be connected: the runner stops trying until someone connects again.
5. Entering ``connected`` starts "connected since"; staying connected keeps it.
6. A JID, device JID or push name that comes with a report is stored.
7. ``next_retry_at`` (the runner's backoff, ``session_record_retry``) is cleared by
   ``connected`` and by the end of the wish to be connected.

A runner of the fleet reports with its ``Fence`` (sessions_app.leases): a report whose
token is no longer the session's current one changes nothing.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from sessions_app.leases import Fence, db_now, is_current
from sessions_app.models import SessionEvent, WhatsAppSession
from sessions_app.status import TERMINAL_STATUSES, SessionStatus
from webhooks_app.events import record_event

# How far back a change counts as a repeat of an earlier one.
RECENT_FOR_REPEATS = 6
QR_REASON = "waiting for the QR to be scanned (or a pairing code)"
WAITING_FOR_RUNNER = "waiting for the runner"


def session_transition(
    *,
    session_id: str,
    status: str,
    reason: str = "",
    jid: str | None = None,
    device_jid: str | None = None,
    push_name: str | None = None,
    qr: tuple[str, datetime] | None = None,
    keep_connecting: bool = True,
    want_connected: bool = False,
    fence: Fence | None = None,
) -> bool:
    """Returns False when ``fence`` is stale (nothing was written)."""
    now = timezone.now()
    updates: dict[str, object] = {
        "status": status,
        "status_reason": reason,
        "last_seen_at": now,
        "updated_at": now,
    }
    # Rule 2.
    if status == SessionStatus.PAIRING and qr is not None:
        updates.update(qr_code=qr[0], qr_expires_at=qr[1])
    elif status != SessionStatus.PAIRING:
        updates.update(qr_code="", qr_expires_at=None)
    # Rule 6.
    if jid:
        updates["jid"] = jid
    if device_jid:
        updates["device_jid"] = device_jid
    if push_name:
        updates["push_name"] = push_name
    # Rule 3.
    if status == SessionStatus.LOGGED_OUT:
        updates.update(jid="", device_jid="", push_name="", connected_at=None, paired_at=None)
    # Rule 4 (and its opposite: someone asked to connect).
    if status in TERMINAL_STATUSES or not keep_connecting:
        updates["desired_connected"] = False
        updates["next_retry_at"] = None  # rule 7
    elif want_connected:
        updates["desired_connected"] = True
    with transaction.atomic():
        rows = WhatsAppSession.objects.filter(pk=session_id)
        if fence is not None:
            if not is_current(session_id, fence):
                return False
            rows = _held(rows, fence)
        _record_event(session_id=session_id, status=status, reason=reason)  # rule 1
        if status == SessionStatus.CONNECTED:  # rules 5 and 7
            rows.exclude(status=SessionStatus.CONNECTED).update(connected_at=now)
            updates["next_retry_at"] = None
            rows.filter(paired_at__isnull=True).update(paired_at=now)
        rows.update(**updates)
    return True


def session_record_status(
    *,
    session_id: str,
    status: str,
    reason: str = "",
    jid: str | None = None,
    device_jid: str | None = None,
    push_name: str | None = None,
    keep_connecting: bool = True,
    fence: Fence | None = None,
) -> None:
    """What a live session reports (through the runner's sink)."""
    session_transition(
        fence=fence,
        session_id=session_id,
        status=status,
        reason=reason,
        jid=jid,
        device_jid=device_jid,
        push_name=push_name,
        keep_connecting=keep_connecting,
    )


def _held(rows: QuerySet[WhatsAppSession], fence: Fence) -> QuerySet[WhatsAppSession]:
    """Only the sessions whose lease ``fence`` still is."""
    return rows.filter(
        lease__runner_id=fence.runner_id, lease__token=fence.token, lease__expires_at__gt=db_now()
    )


def session_record_retry(*, session_id: str, at: datetime, fence: Fence | None = None) -> None:
    """When the runner tries the session's failed connection again, shown to operators;
    only while the session is still wanted (rule 7 clears it)."""
    rows = WhatsAppSession.objects.filter(pk=session_id, desired_connected=True)
    if fence is not None:
        rows = _held(rows, fence)
    rows.update(next_retry_at=at)


def session_record_qr(
    *, session_id: str, code: str, expires_at: datetime, fence: Fence | None = None
) -> None:
    session_transition(
        fence=fence,
        session_id=session_id,
        status=SessionStatus.PAIRING,
        reason=QR_REASON,
        qr=(code, expires_at),
    )


def session_mark_wanted(*, session: WhatsAppSession) -> None:
    """Someone asked for the session to be connected: the runner keeps it up from now on.
    A session not connected yet shows that it waits for the runner."""
    if session.status == SessionStatus.CONNECTED:
        WhatsAppSession.objects.filter(pk=session.pk).update(
            desired_connected=True, updated_at=timezone.now()
        )
        return
    session_transition(
        session_id=session.id,
        status=SessionStatus.CONNECTING,
        reason=WAITING_FOR_RUNNER,
        want_connected=True,
    )


def _record_event(*, session_id: str, status: str, reason: str) -> None:
    """Appends to the connection history when the status or its reason changes, keeping
    the newest HISTORY_KEPT, and records the ``session.status`` webhook event."""
    current = (
        WhatsAppSession.objects.select_for_update()
        .filter(pk=session_id)
        .values_list("status", "status_reason", "organization_id")
        .first()
    )
    if current is None or current[:2] == (status, reason):
        return
    # A repeat of a recent change (the same failure on every retry) is one row with a
    # count and its first and last time, not a new row each time.
    recent = list(
        SessionEvent.objects.filter(session_id=session_id).values_list("id", flat=True)[
            :RECENT_FOR_REPEATS
        ]
    )
    now = timezone.now()
    repeated = SessionEvent.objects.filter(id__in=recent, status=status, reason=reason).update(
        count=F("count") + 1, at=now
    )
    if not repeated:
        SessionEvent.objects.create(
            session_id=session_id, status=status, reason=reason, at=now, first_at=now
        )
    # The webhook event, in the same transaction as the change.
    record_event(
        organization_id=current[2],
        session_id=session_id,
        event_type="session.status",
        data={"status": status, "statusReason": reason},
    )
    stale = list(
        SessionEvent.objects.filter(session_id=session_id).values_list("id", flat=True)[
            SessionEvent.HISTORY_KEPT :
        ]
    )
    if stale:
        SessionEvent.objects.filter(id__in=stale).delete()

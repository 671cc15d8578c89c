"""Operations on WhatsApp sessions.

The web-facing ones (create, connect, logout, pair code, delete) ask the session runner
through ``sessions_app.routing``; the ``session_record_*`` ones are how the runner writes
what its live sessions report.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import Conflict, InvalidInput, RunnerUnavailable
from sessions_app import device_store, routing
from sessions_app.engines.types import PairingCode
from sessions_app.exceptions import SessionNotConnected
from sessions_app.models import Engine, SessionStatus, WhatsAppSession
from sessions_app.registry import CONNECT, LOGOUT, PAIR_CODE, RELEASE, Empty, PairCode
from sessions_app.status import TERMINAL_STATUSES
from sessions_app.transitions import session_mark_wanted


def session_create(*, organization: Organization, engine: str, name: str = "") -> WhatsAppSession:
    """Attaches a number. An organization holds at most ``GATEWAY_MAX_SESSIONS_PER_ORG``
    sessions: the organization's row is locked while counting (PostgreSQL; SQLite's
    IMMEDIATE transactions serialise writers anyway), so racing creations cannot pass it.
    Without a name it gets a readable one ("WhatsApp 3", "Sandbox 1"), never just its id."""
    if engine not in Engine.values():
        raise InvalidInput(details={"engine": [f"must be one of: {', '.join(Engine.values())}"]})
    limit = settings.GATEWAY_MAX_SESSIONS_PER_ORG
    with transaction.atomic():
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values("pk"))
        held = WhatsAppSession.objects.filter(organization=organization).count()
        if held >= limit:
            raise Conflict(
                f"the organization already has {limit} sessions, the most it may hold; "
                "delete one first",
                details={"reason": "session_limit", "limit": limit},
            )
        if not name.strip():
            name = f"{Engine(engine).label} {held + 1}"
        return WhatsAppSession.objects.create(organization=organization, engine=engine, name=name)


def session_want_connected(*, session: WhatsAppSession) -> WhatsAppSession:
    """Records that the session should be connected; the runner acts on it within
    seconds, or when it starts."""
    session_mark_wanted(session=session)
    session.refresh_from_db()
    return session


def session_connect(*, session: WhatsAppSession) -> WhatsAppSession:
    """Marks the session as wanted connected and asks the runner to start it now.

    The wish is recorded first, so a runner that is down picks the session up when it
    starts; the caller still learns (RunnerUnavailable) that nothing happens until then.
    """
    session_mark_wanted(session=session)
    routing.perform(CONNECT, session_id=session.id, payload=Empty())
    session.refresh_from_db()
    return session


def session_logout(*, session: WhatsAppSession) -> WhatsAppSession:
    """Unlinks the device from the WhatsApp account and stops connecting."""
    if session.status == SessionStatus.LOGGED_OUT:
        raise Conflict("session is already logged out")
    if not session.is_connected:
        raise SessionNotConnected(details={"status": session.status})
    # The runner records the outcome (logged_out, no longer wanted) before it answers.
    routing.perform(LOGOUT, session_id=session.id, payload=Empty())
    session.refresh_from_db()
    return session


def session_pair_code(*, session: WhatsAppSession, phone: str) -> PairingCode:
    if session.is_connected:
        raise Conflict(
            "session is already connected: it is paired, no code is needed",
            details={"status": session.status},
        )
    if session.status != SessionStatus.PAIRING:
        raise Conflict(
            "session is not pairing: connect it and wait for the QR first",
            details={"status": session.status},
        )
    return routing.perform(PAIR_CODE, session_id=session.id, payload=PairCode(phone=phone))


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
    if (
        session.engine == Engine.WHATSAPP
        and session.jid
        and session.status not in TERMINAL_STATUSES
    ):
        # Still linked: unlink on WhatsApp first, or the phone keeps a ghost device.
        if not session.is_connected:
            raise Conflict(
                "session is linked but not connected: connect it so it can log out, "
                "or log it out from the phone first",
                details={"status": session.status},
            )
        routing.perform(LOGOUT, session_id=session.id, payload=Empty())
    try:
        routing.perform(RELEASE, session_id=session.id, payload=Empty())
    except RunnerUnavailable:
        if session.engine == Engine.WHATSAPP and device_store.is_shared():
            raise  # only the runner can remove keys from a shared store
    device_store.remove(session.id, device_jid=session.device_jid)
    session.delete()


def session_update(
    *,
    session: WhatsAppSession,
    name: str | None = None,
    send_budget: dict[str, int | None] | None = None,
    default_budget: bool = False,
) -> WhatsAppSession:
    """Renames the session and/or sets its send budget (``default_budget``: back to the
    engine's default)."""
    fields = ["updated_at"]
    if name is not None:
        session.name = name
        fields.append("name")
    if default_budget:
        session.send_budget_per_minute = session.send_budget_per_day = None
        fields += ["send_budget_per_minute", "send_budget_per_day"]
    elif send_budget is not None:
        session.send_budget_per_minute = send_budget["perMinute"]
        session.send_budget_per_day = send_budget["perDay"]
        fields += ["send_budget_per_minute", "send_budget_per_day"]
    session.save(update_fields=fields)
    return session

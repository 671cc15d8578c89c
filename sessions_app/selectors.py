"""Reads of sessions. API code reaches sessions only through the organization-scoped ones."""

from django.db.models import F, QuerySet
from ulid import ULID

from auth_app.models import Organization
from sessions_app.exceptions import SessionNotFound
from sessions_app.models import WhatsAppSession


def normalise_session_id(session_id: str) -> str | None:
    """The canonical form of a session id, or None when it is not one."""
    try:
        return str(ULID.from_str(session_id.upper()))
    except ValueError:
        return None


# (organization pk, session id) pairs this process has seen in the database. A session's
# organization is chosen at creation and never changes (the admin shows it read-only;
# nothing updates it), and ids are never reused, so what is remembered stays true; a
# deleted session takes its groups with it, so a remembered pair can only lead to reads
# that find nothing. Bounded: when full, it starts again.
_OWNED: set[tuple[int, str]] = set()
_OWNED_LIMIT = 50_000


def session_owned_id(*, organization: Organization, session_id: str) -> str | None:
    """The canonical id of ``session_id`` if it is one of the organization's sessions,
    else None: for hot reads of a session's rows, which then need no join to the session
    (one query the first time this process sees the pair, none after)."""
    normalised = normalise_session_id(session_id)
    if normalised is None:
        return None
    pair = (organization.pk, normalised)
    if pair in _OWNED:
        return normalised
    if not WhatsAppSession.objects.filter(id=normalised, organization=organization).exists():
        return None
    if len(_OWNED) >= _OWNED_LIMIT:
        _OWNED.clear()
    _OWNED.add(pair)
    return normalised


def session_get(*, organization: Organization, session_id: str) -> WhatsAppSession:
    """The organization's session, or SessionNotFound — the same for a missing session and
    for another organization's, so ids cannot be probed across tenants."""
    normalised = normalise_session_id(session_id)
    session = (
        with_lease(WhatsAppSession.objects.filter(id=normalised, organization=organization)).first()
        if normalised
        else None
    )
    if session is None:
        raise SessionNotFound()
    return session


def session_list(*, organization: Organization) -> QuerySet[WhatsAppSession]:
    return with_lease(WhatsAppSession.objects.filter(organization=organization))


def with_lease(sessions: QuerySet[WhatsAppSession]) -> QuerySet[WhatsAppSession]:
    """Each session with its lease's holder and expiry (``WhatsAppSession.presence``):
    one join, no query more."""
    return sessions.annotate(
        lease_runner=F("lease__runner_id"), lease_expires_at=F("lease__expires_at")
    )


def session_get_for_operator(*, session_id: str) -> WhatsAppSession:
    """Any organization's session: for operators (management commands), not for the API."""
    normalised = normalise_session_id(session_id)
    session = WhatsAppSession.objects.filter(id=normalised).first() if normalised else None
    if session is None:
        raise SessionNotFound(f"session {session_id!r} not found")
    return session

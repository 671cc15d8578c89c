"""Reads of sessions. API code reaches sessions only through the organization-scoped ones."""

from django.db.models import QuerySet
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


def session_get(*, organization: Organization, session_id: str) -> WhatsAppSession:
    """The organization's session, or SessionNotFound — the same for a missing session and
    for another organization's, so ids cannot be probed across tenants."""
    normalised = normalise_session_id(session_id)
    session = (
        WhatsAppSession.objects.filter(id=normalised, organization=organization).first()
        if normalised
        else None
    )
    if session is None:
        raise SessionNotFound()
    return session


def session_list(*, organization: Organization) -> QuerySet[WhatsAppSession]:
    return WhatsAppSession.objects.filter(organization=organization)


def session_get_for_operator(*, session_id: str) -> WhatsAppSession:
    """Any organization's session: for operators (management commands), not for the API."""
    normalised = normalise_session_id(session_id)
    session = WhatsAppSession.objects.filter(id=normalised).first() if normalised else None
    if session is None:
        raise SessionNotFound(f"session {session_id!r} not found")
    return session

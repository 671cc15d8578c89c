"""Operations on WhatsApp sessions."""

from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import InvalidInput
from sessions_app.engines import engine_for
from sessions_app.models import Engine, SessionStatus, WhatsAppSession


def session_create(*, organization: Organization, engine: str, name: str = "") -> WhatsAppSession:
    if engine not in Engine.values:
        raise InvalidInput(details={"engine": [f"must be one of: {', '.join(Engine.values)}"]})
    return WhatsAppSession.objects.create(organization=organization, engine=engine, name=name)


def session_connect(*, session: WhatsAppSession) -> WhatsAppSession:
    """Connects the session through its engine and records the outcome.

    The sandbox connects at once; the whatsapp engine needs the session runner.
    """
    account = engine_for(session).connect(session=session)
    now = timezone.now()
    with transaction.atomic():
        WhatsAppSession.objects.filter(pk=session.pk).update(
            status=SessionStatus.CONNECTED,
            status_reason="",
            jid=account.jid,
            push_name=account.push_name,
            connected_at=now,
            last_seen_at=now,
            updated_at=now,
        )
    session.refresh_from_db()
    return session

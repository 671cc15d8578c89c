"""Reads of stored messages, scoped to the caller's organization through the session."""

from django.db.models import QuerySet

from auth_app.models import Organization
from gateway.exceptions import NotFound
from messages_app.models import Message
from sessions_app.selectors import session_get


def message_list(*, organization: Organization, session_id: str, chat: str) -> QuerySet[Message]:
    """The chat's stored messages of the organization's session (SessionNotFound when
    the session is not the organization's); the caller orders and pages them."""
    session = session_get(organization=organization, session_id=session_id)
    return Message.objects.filter(session=session, chat=chat)


def message_get(
    *, organization: Organization, session_id: str, chat: str, message_id: str
) -> Message:
    message = (
        message_list(organization=organization, session_id=session_id, chat=chat)
        .filter(message_id=message_id)
        .first()
    )
    if message is None:
        raise NotFound("no stored message with this id in this chat")
    return message

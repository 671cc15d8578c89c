"""Messages endpoints: /api/v1/sessions/{session}/messages[/{messageId}/media]."""

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.capabilities import Capability
from auth_app.principal import principal_of
from gateway.exceptions import InvalidInput, NotFound
from gateway.pagination import GatewayCursorPagination
from gateway.requests import json_body
from gateway.schema import IDEMPOTENCY_KEY, error_responses, json_errors
from messages_app import rules
from messages_app.output import message_output
from messages_app.registry import SEND_MESSAGE
from messages_app.selectors import message_get, message_list
from messages_app.serializers import MessageSendInputSerializer, MessageSerializer
from messages_app.services import message_id_for, message_media, message_send
from sessions_app.audit import KEY_HEADER, live_action
from sessions_app.jids import GROUP_JID_RE, USER_JID_RE
from sessions_app.selectors import session_get

CHAT_PATTERN = f"^(?:{USER_JID_RE.pattern[1:-1]}|{GROUP_JID_RE.pattern[1:-1]})$"
SESSION = OpenApiParameter(
    "session",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The WhatsApp session id — one attached WhatsApp number.",
)
CHAT = OpenApiParameter(
    "chat",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=True,
    pattern=CHAT_PATTERN,
    allow_blank=False,
    description="The chat: a user JID (…@s.whatsapp.net) or a group JID (…@g.us).",
)
TAGS = ["Messages"]

SEND_DESCRIPTION = """\
Sends a message to a user or a group (live action; the session must be **connected**, \
else **501 `not_implemented`**). `type` says which fields apply:

- `text`: `text` (1 to 65,536 characters), `mentions` (user JIDs; in a group each must be a \
stored member, else 400 naming the index) or `mentionAll: true` (a group's every member);
- `image`, `video`, `audio`, `document`: `media` = `{"data": "<base64>"}` or \
`{"url": "https://…"}` (fetched by the gateway: public addresses only, redirects checked \
again, the size capped while reading), `mimetype`, optional `caption` and `filename` \
(document). Larger than the type's limit (`GATEWAY_MEDIA_MAX_*_BYTES`) → **413**;
- `poll`: `poll` = `{"name", "options": 2 to 12 distinct strings, "selectableCount"}`;
- `reaction`: `reaction` = `{"messageId", "emoji"}` (`""` takes it back);
- `group_invite`: `groupJid` — sends that group's invite to the user `to` (the message \
WhatsApp's own app sends to people who could not be added); the account must be an \
admin of the group.

`replyTo` (a stored message of this chat) quotes it, on every type but `reaction`.

**Send budget:** a message costs 1 of the session's budget (`sendBudget` on the session); \
over it, **429 `rate_limited`** with `Retry-After` and `details.budget` — before anything \
is sent. A refused request and an idempotent replay cost nothing.

**Retries:** with an `Idempotency-Key` a retry never sends twice. A retry of a finished \
call replays its answer. After an outcome the gateway could not learn (504: WhatsApp or \
the runner did not answer), the retry looks first: on `sandbox` sessions the message's \
id is derived from the key and it is sent again under the same id (phones keep one \
message per id); on `whatsapp` sessions, where WhatsApp picks the id, a message not \
known to have been sent is **409 `conflict`, `details.reason` `outcome_unknown`** (it may \
have arrived: send with a new key to send it again) — at most once.

**Errors:** 400 `validation_error` naming each bad field; 404 (no such session); \
409 `conflict` with `details.reason` `not_member` (a group the account is not in, per the \
stored groups), `outcome_unknown` (above) or `not_admin` (an announce-only group, or the \
group of an invite, where the account is not an admin); 413; 429; 501; 502 to 504 as \
for every live action.

**Capability:** `send`.
"""


class MessageViewSet(viewsets.GenericViewSet[Any]):
    serializer_class = MessageSerializer
    pagination_class = GatewayCursorPagination
    required_capabilities = {
        "list": Capability.READ,
        "create": Capability.SEND,
        "media": Capability.READ,
    }

    @extend_schema(
        operation_id="sendMessage",
        summary="Send a message",
        description=SEND_DESCRIPTION,
        tags=TAGS,
        parameters=[SESSION, IDEMPOTENCY_KEY],
        request=MessageSendInputSerializer,
        examples=[
            OpenApiExample(
                "A text that mentions a member",
                value={
                    "to": "120363025246125486@g.us",
                    "type": "text",
                    "text": "Welcome, @15551234567!",
                    "mentions": ["15551234567@s.whatsapp.net"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "A poll",
                value={
                    "to": "120363025246125486@g.us",
                    "type": "poll",
                    "poll": {"name": "Lunch?", "options": ["Pizza", "Sushi"]},
                },
                request_only=True,
            ),
        ],
        responses={
            201: MessageSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(SEND_MESSAGE)
    def create(
        self, request: Request, session: str, look_first_since: datetime | None = None
    ) -> Response:
        organization = principal_of(request).organization
        whatsapp_session = session_get(organization=organization, session_id=session)
        payload = MessageSendInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        message = message_send(
            session=whatsapp_session,
            message=payload.outgoing(),
            message_id=message_id_for(
                session=whatsapp_session, idempotency_key=request.headers.get(KEY_HEADER)
            ),
            mention_all=payload.validated_data["mentionAll"],
            look_first_since=look_first_since,
        )
        return Response(message_output(message), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="listMessages",
        summary="List a chat's messages",
        description=(
            "The chat's stored messages (sent through the gateway and received), newest "
            "first, from stored data: works while the session is offline. Cursor pages "
            "(`limit`, `cursor`). **Capability:** `read`."
        ),
        tags=TAGS,
        parameters=[SESSION, CHAT],
        responses={200: MessageSerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
    )
    def list(self, request: Request, session: str) -> Response:
        chat = _chat(request)
        messages = message_list(
            organization=principal_of(request).organization, session_id=session, chat=chat
        )
        page = self.paginate_queryset(messages)
        return self.get_paginated_response([message_output(message) for message in page or []])

    @extend_schema(
        operation_id="getMessageMedia",
        summary="Download a message's media",
        description=(
            "The bytes of a stored media message, fetched from WhatsApp (live action: the "
            "session must be connected), with their content type. 404 when the message is "
            "not stored or has no media. **Capability:** `read`."
        ),
        tags=TAGS,
        parameters=[
            SESSION,
            OpenApiParameter("messageId", OpenApiTypes.STR, OpenApiParameter.PATH),
            CHAT,
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The media, with its own Content-Type (e.g. image/jpeg).",
            ),
            **json_errors(400, 401, 403, 404, 429, 501, 502, 503, 504),
        },
    )
    def media(self, request: Request, session: str, messageId: str) -> HttpResponse:
        organization = principal_of(request).organization
        whatsapp_session = session_get(organization=organization, session_id=session)
        message = message_get(
            organization=organization, session_id=session, chat=_chat(request), message_id=messageId
        )
        if not message.media:
            raise NotFound("this message has no media")
        content = message_media(session=whatsapp_session, message=message)
        response = HttpResponse(
            content.data, content_type=content.mimetype or "application/octet-stream"
        )
        response["Cache-Control"] = "private, no-store"
        return response


def _chat(request: Request) -> str:
    chat = request.query_params.get("chat", "")
    if not rules.is_chat_jid(chat):
        raise InvalidInput(
            "?chat= is required: a user JID or a group JID", details={"chat": ["a chat JID"]}
        )
    return chat

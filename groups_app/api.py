"""Groups endpoints: /api/v1/sessions/{session}/groups[/{groupJid}]."""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.capabilities import Capability
from auth_app.principal import principal_of
from gateway.pagination import GatewayCursorPagination
from gateway.requests import json_body
from gateway.schema import IDEMPOTENCY_KEY, error_responses
from groups_app.actions import CREATE_GROUP, SYNC_GROUPS
from groups_app.selectors import group_get, group_info_rows
from groups_app.serializers import (
    GROUP_INFO_SOURCES,
    GroupCreateInputSerializer,
    GroupInfoSerializer,
    GroupSyncSerializer,
    group_info,
)
from groups_app.services import group_create, group_sync
from sessions_app.live_actions import live_action
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import session_get

CREATE_SESSION_PARAMETER = OpenApiParameter(
    "session",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=(
        "The WhatsApp session id — one attached WhatsApp number. The new group is created on "
        "this session's account, which becomes the group's first admin/owner."
    ),
)
SESSION_PARAMETER = OpenApiParameter(
    "session",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The WhatsApp session id — one attached WhatsApp number.",
)
GROUP_PARAMETER = OpenApiParameter(
    "groupJid",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The group's JID, e.g. 120363025246125486@g.us.",
)

CREATE_DESCRIPTION = """\
Creates a new WhatsApp group with the given **name** (group subject) and starting \
**participants** (a list of user JIDs), and returns the new group's info.

**Capability:** requires `send`.

**Precondition (live action):** the session must be **connected**. Creating a group talks \
to WhatsApp in real time; if the session is not connected the gateway responds \
**501 `not_implemented`**.

**Side effects:** the group is created on WhatsApp with this session's account as \
owner/first admin, the listed participants are invited, and the new group is upserted into \
the gateway's stored WhatsApp data so it appears in `listGroups` immediately.

Not idempotent — calling twice creates two distinct groups.

**Errors:**
- **400 `validation_error`** — missing/empty name, no participants, or a malformed JID.
- **404 `not_found`** — no session with this id is owned by your organization.
- **501 `not_implemented`** — the session is not connected.
"""


@extend_schema_view(
    create=extend_schema(
        operation_id="createGroup",
        summary="Create a group",
        description=CREATE_DESCRIPTION,
        tags=["Groups"],
        parameters=[CREATE_SESSION_PARAMETER, IDEMPOTENCY_KEY],
        request=GroupCreateInputSerializer,
        responses={
            201: GroupInfoSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    ),
    list=extend_schema(
        operation_id="listGroups",
        summary="List groups",
        description=(
            "The session's stored groups, newest first, served from stored WhatsApp data "
            "(works while the session is disconnected). **Capability:** requires `read`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER],
        responses={
            200: GroupInfoSerializer(many=True),
            **error_responses(400, 401, 403, 404, 429),
        },
    ),
    retrieve=extend_schema(
        operation_id="getGroup",
        summary="Get a group",
        description=("One stored group of the session. **Capability:** requires `read`."),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER],
        responses={200: GroupInfoSerializer, **error_responses(401, 403, 404, 429)},
    ),
)
class GroupViewSet(viewsets.GenericViewSet):
    serializer_class = GroupInfoSerializer
    pagination_class = GatewayCursorPagination
    lookup_url_kwarg = "groupJid"
    required_capabilities = {
        "list": Capability.READ,
        "retrieve": Capability.READ,
        "create": Capability.SEND,
        "sync": Capability.SEND,
    }

    def _session(self, request: Request, session: str) -> WhatsAppSession:
        return session_get(organization=principal_of(request).organization, session_id=session)

    @live_action(CREATE_GROUP)
    def create(
        self, request: Request, session: str, look_first_since: datetime | None = None
    ) -> Response:
        whatsapp_session = self._session(request, session)
        payload = GroupCreateInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        group = group_create(
            session=whatsapp_session, **payload.validated_data, look_first_since=look_first_since
        )
        return Response(GroupInfoSerializer(group).data, status=status.HTTP_201_CREATED)

    def list(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        rows = group_info_rows(session=whatsapp_session, fields=list(GROUP_INFO_SOURCES.values()))
        page = self.paginate_queryset(rows) or []
        return self.get_paginated_response([group_info(row) for row in page])

    @extend_schema(
        operation_id="syncGroups",
        summary="Refresh stored groups from WhatsApp",
        description=(
            "Fetches every group the account is in (live action; the session must be "
            "connected), stores them, and removes stored groups the account has left. The "
            "runner also does this on every connect. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, IDEMPOTENCY_KEY],
        request=None,
        responses={
            200: GroupSyncSerializer,
            **error_responses(400, 401, 403, 404, 409, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(SYNC_GROUPS)
    def sync(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        result = group_sync(session=whatsapp_session)
        return Response(
            GroupSyncSerializer({"synced": result.stored, "removed": result.removed}).data
        )

    def retrieve(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group = group_get(session=whatsapp_session, jid=groupJid)
        return Response(GroupInfoSerializer(group).data)

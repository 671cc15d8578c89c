"""Groups endpoints: /api/v1/sessions/{session}/groups[/{groupJid}]."""

from datetime import datetime
from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.capabilities import Capability
from auth_app.principal import principal_of
from gateway.pagination import GatewayCursorPagination
from gateway.requests import json_body
from gateway.schema import IDEMPOTENCY_KEY, error_responses
from groups_app.models import Group
from groups_app.registry import (
    CHANGE_PARTICIPANTS,
    CREATE_GROUP,
    INVITE_CODE,
    JOIN_GROUP,
    LEAVE_GROUP,
    SET_PICTURE,
    SYNC_GROUPS,
)
from groups_app.selectors import (
    group_get,
    group_members,
    group_page,
    group_row,
)
from groups_app.serializers import (
    GROUP_INFO_SOURCES,
    GroupCreateInputSerializer,
    GroupInfoSerializer,
    GroupSyncSerializer,
    GroupUpdateInputSerializer,
    InviteSerializer,
    JoinInputSerializer,
    JoinRequestListSerializer,
    ParticipantListSerializer,
    ParticipantResultsSerializer,
    ParticipantsChangeInputSerializer,
    PendingJoinSerializer,
    PictureInputSerializer,
    PictureSerializer,
    group_output,
    info_as_row,
)
from groups_app.services import (
    group_create,
    group_invite,
    group_invite_info,
    group_join,
    group_join_requests,
    group_leave,
    group_participants_change,
    group_set_picture,
    group_sync,
    group_update,
)
from sessions_app.audit import live_action
from sessions_app.engines.types import PendingJoin
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

**Retries:** without an `Idempotency-Key` every call creates a group. With one, a \
repeat of a finished call replays its answer, and a retry after an outcome the gateway \
could not learn (504) first looks for the group the earlier attempt may have made: \
calling twice with the same key creates at most one group.

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
        examples=[
            OpenApiExample(
                "A group with two members",
                value={
                    "name": "Launch team",
                    "participants": ["15551234567@s.whatsapp.net", "15557654321@s.whatsapp.net"],
                },
                request_only=True,
            )
        ],
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
class GroupViewSet(viewsets.GenericViewSet[Any]):
    serializer_class = GroupInfoSerializer
    pagination_class = GatewayCursorPagination
    lookup_url_kwarg = "groupJid"
    required_capabilities = {
        "list": Capability.READ,
        "retrieve": Capability.READ,
        "create": Capability.SEND,
        "sync": Capability.SEND,
        "partial_update": Capability.SEND,
        "participants": Capability.READ,
        "change_participants": Capability.SEND,
        "invite": Capability.SEND,
        "revoke_invite": Capability.SEND,
        "leave": Capability.SEND,
        "picture": Capability.SEND,
        "join_requests": Capability.SEND,
        "join": Capability.SEND,
        "invite_info": Capability.SEND,
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
        organization = principal_of(request).organization
        fields = tuple(GROUP_INFO_SOURCES.values())
        paginator = cast(GatewayCursorPagination, self.paginator)
        page = paginator.paginate_window(
            lambda window: group_page(
                organization=organization, session_id=session, fields=fields, window=window
            ),
            request,
            model=Group,
        )
        if not page:
            # No rows: an empty list, or no such session in this organization (404).
            session_get(organization=organization, session_id=session)
        return self.get_paginated_response([group_output(row) for row in page])

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
        row = group_row(
            organization=principal_of(request).organization,
            session_id=session,
            jid=groupJid,
            fields=tuple(GROUP_INFO_SOURCES.values()),
        )
        return Response(group_output(row))

    # -- group management ------------------------------------------------------------

    @extend_schema(
        operation_id="updateGroup",
        summary="Change a group's subject, description or settings",
        description=(
            "Live action: one WhatsApp call per field given (subject, description, "
            "isAnnounce, isLocked, in that order), each stored as it succeeds. If one fails "
            "after others succeeded, the answer is that failure with `details.applied` "
            "listing what did change. A body with any invalid field changes nothing. "
            "409 `conflict` with `details.reason` `not_admin` when the account is not an "
            "admin of the group. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER, IDEMPOTENCY_KEY],
        request=GroupUpdateInputSerializer,
        responses={
            200: GroupInfoSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action("update_group")
    def partial_update(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        payload = GroupUpdateInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        group = group_update(session=whatsapp_session, jid=groupJid, changes=payload.validated_data)
        return Response(GroupInfoSerializer(group).data)

    @extend_schema(
        operation_id="listGroupParticipants",
        summary="List a group's members",
        description=(
            "The stored members with their roles (served while the number is offline). "
            "**Capability:** `read`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER],
        responses={200: ParticipantListSerializer, **error_responses(401, 403, 404, 429)},
    )
    def participants(self, request: Request, session: str, groupJid: str) -> Response:
        group = group_get(session=self._session(request, session), jid=groupJid)
        return Response({"results": group_members(group=group)})

    @extend_schema(
        operation_id="changeGroupParticipants",
        summary="Add, remove, promote or demote members",
        description=(
            "Live action. Answers 200 with each person's result, also when WhatsApp "
            "refused some of them (read each `result`); the stored members follow. "
            "409 `conflict` with `details.reason` `not_admin` when the account is not an "
            "admin of the group. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER, IDEMPOTENCY_KEY],
        request=ParticipantsChangeInputSerializer,
        responses={
            200: ParticipantResultsSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(CHANGE_PARTICIPANTS)
    def change_participants(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        payload = ParticipantsChangeInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        results = group_participants_change(
            session=whatsapp_session, jid=groupJid, **payload.validated_data
        )
        return Response(ParticipantResultsSerializer({"results": results}).data)

    @extend_schema(
        operation_id="getGroupInvite",
        summary="The group's invite link",
        description=(
            "Live action: the current invite code and link (stable until revoked). "
            "**Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER],
        responses={
            200: InviteSerializer,
            **error_responses(401, 403, 404, 409, 429, 501, 502, 503, 504),
        },
    )
    def invite(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        code = group_invite(session=whatsapp_session, jid=groupJid)
        return Response(InviteSerializer(invite_link(code)).data)

    @extend_schema(
        operation_id="revokeGroupInvite",
        summary="Replace the group's invite link",
        description=(
            "Live action: a new invite code; the old one stops working. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER, IDEMPOTENCY_KEY],
        request=None,
        responses={
            200: InviteSerializer,
            **error_responses(401, 403, 404, 409, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(INVITE_CODE)
    def revoke_invite(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        code = group_invite(session=whatsapp_session, jid=groupJid, revoke=True)
        return Response(InviteSerializer(invite_link(code)).data)

    @extend_schema(
        operation_id="leaveGroup",
        summary="Leave a group",
        description=(
            "Live action: the account leaves the group, which goes from the stored data. "
            "**Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER, IDEMPOTENCY_KEY],
        request=None,
        responses={
            204: None,
            **error_responses(401, 403, 404, 409, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(LEAVE_GROUP)
    def leave(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        group_leave(session=whatsapp_session, jid=groupJid)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="setGroupPicture",
        summary="Set the group's picture",
        description=(
            'Live action: `{"image": "<base64 JPEG>"}`, at most 1 MiB after decoding '
            "(this route's body limit is above the general one: base64 grows the image by a "
            "third). Not a JPEG → 400; larger → 413. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER, IDEMPOTENCY_KEY],
        request=PictureInputSerializer,
        responses={
            200: PictureSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(SET_PICTURE)
    def picture(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        payload = PictureInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        picture_id = group_set_picture(
            session=whatsapp_session, jid=groupJid, image=payload.validated_data["image"]
        )
        return Response(PictureSerializer({"pictureId": picture_id}).data)

    @extend_schema(
        operation_id="listGroupJoinRequests",
        summary="Pending requests to join",
        description=(
            "Live action: who asks to join, and when they asked (`requestedAt`). Approving "
            "or rejecting has no neonize 0.5.2 call and is not offered. "
            "**Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, GROUP_PARAMETER],
        responses={
            200: JoinRequestListSerializer,
            **error_responses(401, 403, 404, 409, 429, 501, 502, 503, 504),
        },
    )
    def join_requests(self, request: Request, session: str, groupJid: str) -> Response:
        whatsapp_session = self._session(request, session)
        group_get(session=whatsapp_session, jid=groupJid)
        asking = group_join_requests(session=whatsapp_session, jid=groupJid)
        rows = [{"jid": ask.jid, "requestedAt": ask.requested_at} for ask in asking]
        return Response(JoinRequestListSerializer({"results": rows}).data)

    @extend_schema(
        operation_id="joinGroup",
        summary="Join a group by invite",
        description=(
            'Live action: `{"code": "<invite code or chat.whatsapp.com link>"}` → the '
            "joined group, stored (200). A group that needs an admin's approval answers 202 "
            '`{"status": "pending_approval", "groupJid": …}`: the request is filed and '
            "nothing is stored until an admin lets the account in. A revoked or unknown "
            "code is 404. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[SESSION_PARAMETER, IDEMPOTENCY_KEY],
        request=JoinInputSerializer,
        responses={
            200: GroupInfoSerializer,
            202: PendingJoinSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 501, 502, 503, 504),
        },
    )
    @live_action(JOIN_GROUP)
    def join(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        payload = JoinInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        joined = group_join(session=whatsapp_session, code=payload.validated_data["code"])
        if isinstance(joined, PendingJoin):
            pending = {"status": "pending_approval", "groupJid": joined.group_jid}
            return Response(PendingJoinSerializer(pending).data, status=202)
        return Response(GroupInfoSerializer(joined).data)

    @extend_schema(
        operation_id="getGroupInviteInfo",
        summary="Preview the group behind an invite",
        description=(
            "Live action: the group an invite code (or link) leads to, without joining; "
            "nothing is stored. A revoked or unknown code is 404. **Capability:** `send`."
        ),
        tags=["Groups"],
        parameters=[
            SESSION_PARAMETER,
            OpenApiParameter(
                "code",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="An invite code or a https://chat.whatsapp.com/<code> link.",
            ),
        ],
        responses={
            200: GroupInfoSerializer,
            **error_responses(400, 401, 403, 404, 409, 429, 501, 502, 503, 504),
        },
    )
    def invite_info(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        payload = JoinInputSerializer(data={"code": request.query_params.get("code", "")})
        payload.is_valid(raise_exception=True)
        info = group_invite_info(session=whatsapp_session, code=payload.validated_data["code"])
        return Response(GroupInfoSerializer(info_as_row(info)).data)


def invite_link(code: str) -> dict[str, str]:
    return {"code": code, "url": f"https://chat.whatsapp.com/{code}"}

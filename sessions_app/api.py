"""Sessions endpoints: /api/v1/sessions[/{session}[/connect|qr|pair-code|logout]]."""

import io
from typing import Any

import segno
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.capabilities import Capability
from auth_app.principal import principal_of
from gateway.errors import QueryParameterInvalid
from gateway.pagination import NewestFirstPagination
from gateway.requests import json_body
from gateway.schema import IDEMPOTENCY_KEY, error_responses, json_errors
from sessions_app.audit import live_action
from sessions_app.models import WhatsAppSession
from sessions_app.registry import CONNECT, LOGOUT, PAIR_CODE
from sessions_app.renderers import PngAsBytesRenderer, PngRenderer, SvgRenderer
from sessions_app.selectors import session_get, session_list
from sessions_app.serializers import (
    PairCodeInputSerializer,
    PairCodeSerializer,
    QrSerializer,
    SessionCreateInputSerializer,
    SessionSerializer,
    SessionUpdateInputSerializer,
)
from sessions_app.services import (
    session_connect,
    session_create,
    session_current_qr,
    session_delete,
    session_logout,
    session_pair_code,
    session_update,
)

SESSION = OpenApiParameter(
    "session",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The WhatsApp session id — one attached WhatsApp number.",
)
TAGS = ["Sessions"]


class SessionViewSet(viewsets.GenericViewSet[Any]):
    serializer_class = SessionSerializer
    pagination_class = NewestFirstPagination
    lookup_url_kwarg = "session"
    required_capabilities = {
        "list": Capability.READ,
        "retrieve": Capability.READ,
        "create": Capability.MANAGE,
        "destroy": Capability.MANAGE,
        "partial_update": Capability.MANAGE,
        "connect": Capability.MANAGE,
        "qr": Capability.MANAGE,
        "qr_image": Capability.MANAGE,
        "pair_code": Capability.MANAGE,
        "logout": Capability.MANAGE,
    }

    def get_renderers(self) -> list[BaseRenderer]:
        if self.action == "qr":
            return [JSONRenderer(), SvgRenderer(), PngRenderer()]
        if self.action == "qr_image":
            return [PngRenderer(), SvgRenderer(), PngAsBytesRenderer()]
        return super().get_renderers()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ?format= picks a renderer (json, svg or png on the QR); anything else is a bad
        # parameter (400 naming it), not a missing page.
        wanted = request.query_params.get("format")
        known = {renderer.format for renderer in self.get_renderers()}
        if wanted is not None and wanted not in known:
            raise QueryParameterInvalid({"format": [f"one of {', '.join(sorted(known))}"]})
        return super().perform_content_negotiation(request, force)

    def _session(self, request: Request, session: str) -> WhatsAppSession:
        return session_get(organization=principal_of(request).organization, session_id=session)

    @extend_schema(
        operation_id="listSessions",
        summary="List sessions",
        description="Your organization's sessions, newest first. **Capability:** `read`.",
        tags=TAGS,
        responses={200: SessionSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(session_list(organization=principal_of(request).organization))
        return self.get_paginated_response(SessionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createSession",
        summary="Create a session",
        description=(
            "Attaches a new number. `engine` is `whatsapp` unless you ask for `sandbox`. "
            "The session starts in status `new`; call `connectSession` to pair it. "
            "An organization holds at most `GATEWAY_MAX_SESSIONS_PER_ORG` sessions (default "
            "50): past that, 409 `conflict` with `details.reason` `session_limit`. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        request=SessionCreateInputSerializer,
        responses={201: SessionSerializer, **error_responses(400, 401, 403, 409, 413, 415, 429)},
    )
    def create(self, request: Request) -> Response:
        payload = SessionCreateInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        session = session_create(
            organization=principal_of(request).organization, **payload.validated_data
        )
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="getSession",
        summary="Get a session",
        description="One session with its connection state. **Capability:** `read`.",
        tags=TAGS,
        parameters=[SESSION],
        responses={200: SessionSerializer, **error_responses(401, 403, 404, 429)},
    )
    def retrieve(self, request: Request, session: str) -> Response:
        return Response(SessionSerializer(self._session(request, session)).data)

    @extend_schema(
        operation_id="updateSession",
        summary="Rename a session or set its send budget",
        description=(
            '`name` and/or `sendBudget` = `{"perMinute", "perDay"}` (each null for '
            "unlimited), or `sendBudget: null` for the engine's default (whatsapp: "
            "`GATEWAY_SEND_BUDGET_PER_MINUTE` and `_PER_DAY`, a quarter of them for the "
            "first `GATEWAY_SEND_WARMUP_DAYS` after pairing; sandbox: unlimited). "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[SESSION],
        request=SessionUpdateInputSerializer,
        responses={200: SessionSerializer, **error_responses(400, 401, 403, 404, 413, 415, 429)},
    )
    def partial_update(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        payload = SessionUpdateInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        budget_given = "sendBudget" in data
        updated = session_update(
            session=whatsapp_session,
            name=data.get("name"),
            send_budget=data.get("sendBudget"),
            default_budget=budget_given and data["sendBudget"] is None,
        )
        return Response(SessionSerializer(updated).data)

    @extend_schema(
        operation_id="deleteSession",
        summary="Delete a session",
        description=(
            "Logs a linked number out, stops it, and deletes the session with its device keys "
            "and stored groups. A linked whatsapp session that is not connected cannot log out: "
            "409. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[SESSION],
        responses={204: None, **error_responses(401, 403, 404, 409, 429, 502, 503, 504)},
    )
    def destroy(self, request: Request, session: str) -> Response:
        session_delete(session=self._session(request, session))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="connectSession",
        summary="Connect a session",
        description=(
            "Starts connecting: a linked number reconnects; a new one starts pairing (then "
            "fetch `getSessionQr` or ask `requestPairingCode`). Answers 202 with the session; "
            "watch `status`. If the runner is down, 503 — the session still connects when it "
            "starts. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[SESSION, IDEMPOTENCY_KEY],
        request=None,
        responses={
            202: SessionSerializer,
            **error_responses(400, 401, 403, 404, 409, 422, 429, 503, 504),
        },
    )
    @action(detail=True, methods=["post"])
    @live_action(CONNECT)
    def connect(self, request: Request, session: str) -> Response:
        connected = session_connect(session=self._session(request, session))
        return Response(SessionSerializer(connected).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="getSessionQr",
        summary="Current pairing QR",
        description=(
            "While the session is pairing: the QR to scan in WhatsApp (Linked devices → Link "
            "a device). JSON by default; `Accept: image/svg+xml` or `image/png` for a picture. "
            "Codes rotate (about every 20 s); 409 when the session is not pairing. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[
            SESSION,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["json", "svg", "png"],
                description="Instead of an Accept header: json, svg or png.",
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                QrSerializer, description="The QR payload and when it expires."
            ),
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The QR as an SVG image."
            ),
            (200, "image/png"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The QR as a PNG image."
            ),
            **json_errors(400, 401, 403, 404, 409, 429),
        },
    )
    @action(detail=True, methods=["get"])
    def qr(self, request: Request, session: str) -> Response:
        code, expires_at = session_current_qr(session=self._session(request, session))
        image_format = request.accepted_renderer.format
        if image_format in ("svg", "png"):
            buffer = io.BytesIO()
            segno.make_qr(code).save(buffer, kind=image_format, scale=6, border=2)
            response = Response(buffer.getvalue())
        else:
            response = Response(QrSerializer({"qr": code, "expiresAt": expires_at}).data)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="getSessionQrImage",
        summary="Current pairing QR as an image",
        description=(
            "The same QR as `getSessionQr`, as image bytes only: PNG by default, SVG with "
            "`?format=svg` (for clients that download one kind of answer per operation); "
            "`Accept: application/octet-stream` gives the PNG's bytes under that type. "
            "409 when the session is not pairing. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[
            SESSION,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["png", "svg"],
                description="png (default) or svg.",
            ),
        ],
        responses={
            # Listed first: the type a generated client reads as bytes.
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The QR image's bytes (PNG)."
            ),
            (200, "image/png"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The QR image (PNG)."
            ),
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The QR image (SVG, with ?format=svg)."
            ),
            **json_errors(400, 401, 403, 404, 409, 429),
        },
    )
    @action(detail=True, methods=["get"], url_path="qr/image")
    def qr_image(self, request: Request, session: str) -> Response:
        code, _ = session_current_qr(session=self._session(request, session))
        buffer = io.BytesIO()
        segno.make_qr(code).save(buffer, kind=request.accepted_renderer.format, scale=6, border=2)
        response = Response(buffer.getvalue())
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="requestPairingCode",
        summary="Pair with a code instead of a QR",
        description=(
            "While the session is pairing: a code to type on the phone (Linked devices → Link "
            "with phone number) — for when scanning is not possible, with `expiresAt`, when "
            "the pairing window (about 160 s from the first QR) closes. 409 when not "
            "pairing, or when less than 20 s of the window remain. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[SESSION, IDEMPOTENCY_KEY],
        request=PairCodeInputSerializer,
        responses={
            200: PairCodeSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504),
        },
    )
    @action(detail=True, methods=["post"], url_path="pair-code")
    @live_action(PAIR_CODE)
    def pair_code(self, request: Request, session: str) -> Response:
        whatsapp_session = self._session(request, session)
        payload = PairCodeInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        paired = session_pair_code(session=whatsapp_session, phone=payload.validated_data["phone"])
        return Response(
            PairCodeSerializer({"code": paired.code, "expiresAt": paired.expires_at}).data
        )

    @extend_schema(
        operation_id="logoutSession",
        summary="Log a session out",
        description=(
            "Unlinks this device from the WhatsApp account (live action; the session must be "
            "connected) and stops connecting it. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[SESSION, IDEMPOTENCY_KEY],
        request=None,
        responses={
            200: SessionSerializer,
            **error_responses(400, 401, 403, 404, 409, 422, 429, 501, 502, 503, 504),
        },
    )
    @action(detail=True, methods=["post"])
    @live_action(LOGOUT)
    def logout(self, request: Request, session: str) -> Response:
        logged_out = session_logout(session=self._session(request, session))
        return Response(SessionSerializer(logged_out).data)

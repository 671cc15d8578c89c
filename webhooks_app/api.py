"""Webhook endpoints: /api/v1/webhooks[/{id}[/rotate-secret|/test|/deliveries…]]."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from auth_app.capabilities import Capability
from auth_app.principal import principal_of
from gateway.pagination import NewestFirstPagination
from gateway.requests import json_body
from gateway.schema import error_responses
from webhooks_app.models import WebhookEndpoint
from webhooks_app.selectors import delivery_get, delivery_list, endpoint_get, endpoint_list
from webhooks_app.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    EndpointWithSecretSerializer,
)
from webhooks_app.services import (
    delivery_retry,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_test,
    endpoint_update,
)

TAGS = ["Webhooks"]
ENDPOINT = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="whk_…")
DELIVERY = OpenApiParameter(
    "delivery", OpenApiTypes.STR, OpenApiParameter.PATH, description="dlv_…"
)


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict[str, Any]:
    return {**EndpointSerializer(endpoint).data, "secret": secret}


class WebhookViewSet(viewsets.GenericViewSet[Any]):
    serializer_class = EndpointSerializer
    pagination_class = NewestFirstPagination
    required_capabilities = {
        name: Capability.MANAGE
        for name in (
            "list",
            "create",
            "retrieve",
            "partial_update",
            "destroy",
            "rotate_secret",
            "test",
            "deliveries",
            "delivery",
            "retry",
        )
    }

    def _endpoint(self, request: Request, endpoint_id: str) -> WebhookEndpoint:
        return endpoint_get(
            organization=principal_of(request).organization, endpoint_id=endpoint_id
        )

    @extend_schema(
        operation_id="listWebhooks",
        summary="List webhook endpoints",
        description=(
            "The organization's endpoints, newest first (cursor pagination). Secrets are "
            "never shown again. **Capability:** `manage`."
        ),
        tags=TAGS,
        responses={200: EndpointSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(
            endpoint_list(organization=principal_of(request).organization)
        )
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createWebhook",
        summary="Register a webhook endpoint",
        description=(
            "Events are POSTed to `url`, signed per Standard Webhooks with the `secret` "
            "returned here — shown once. **Capability:** `manage`."
        ),
        tags=TAGS,
        request=EndpointInputSerializer,
        examples=[
            OpenApiExample(
                "Group events to a CRM",
                value={
                    "url": "https://crm.example.com/hooks/whatsapp",
                    "events": ["group.created", "group.participants"],
                    "description": "CRM sync",
                },
                request_only=True,
            )
        ],
        responses={
            201: EndpointWithSecretSerializer,
            **error_responses(400, 401, 403, 409, 413, 415, 429),
        },
    )
    def create(self, request: Request) -> Response:
        payload = EndpointInputSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        made = endpoint_create(
            organization=principal_of(request).organization, **payload.validated_data
        )
        return Response(_with_secret(made.endpoint, made.secret), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="getWebhook",
        summary="Get a webhook endpoint",
        description=(
            "One endpoint of the organization, without its secret. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT],
        responses={200: EndpointSerializer, **error_responses(401, 403, 404, 429)},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(EndpointSerializer(self._endpoint(request, id)).data)

    @extend_schema(
        operation_id="updateWebhook",
        summary="Change a webhook endpoint",
        description=(
            "Any of `url`, `events`, `description`, `enabled`; the rest stays. A URL is "
            "checked by the same address rules as on creation. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT],
        request=EndpointUpdateSerializer,
        responses={200: EndpointSerializer, **error_responses(400, 401, 403, 404, 413, 415, 429)},
    )
    def partial_update(self, request: Request, id: str) -> Response:
        endpoint = self._endpoint(request, id)
        payload = EndpointUpdateSerializer(data=json_body(request))
        payload.is_valid(raise_exception=True)
        return Response(
            EndpointSerializer(endpoint_update(endpoint=endpoint, **payload.validated_data)).data
        )

    @extend_schema(
        operation_id="deleteWebhook",
        summary="Delete a webhook endpoint",
        description=(
            "The endpoint goes, and its deliveries with it; nothing more is sent to it. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT],
        responses={204: None, **error_responses(401, 403, 404, 429)},
    )
    def destroy(self, request: Request, id: str) -> Response:
        self._endpoint(request, id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="rotateWebhookSecret",
        summary="Rotate the signing secret",
        description="A new secret (shown once); the old one keeps signing too for 24 h.",
        tags=TAGS,
        parameters=[ENDPOINT],
        request=None,
        responses={200: EndpointWithSecretSerializer, **error_responses(401, 403, 404, 429)},
    )
    def rotate_secret(self, request: Request, id: str) -> Response:
        rotated = endpoint_rotate_secret(endpoint=self._endpoint(request, id))
        return Response(_with_secret(rotated.endpoint, rotated.secret))

    @extend_schema(
        operation_id="testWebhook",
        summary="Send a test event",
        description=(
            "Queues a `webhook.test` event for this endpoint alone, signed like any other: "
            "202 with the delivery, which the delivery worker sends; 409 `conflict` when "
            "the endpoint is disabled (nothing is queued). **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT],
        request=None,
        responses={202: DeliverySerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    def test(self, request: Request, id: str) -> Response:
        delivery = endpoint_test(endpoint=self._endpoint(request, id))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="listWebhookDeliveries",
        summary="List deliveries",
        description=(
            "The endpoint's deliveries, newest first: each one's status, attempts, last "
            "answer and next attempt. **Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT],
        responses={200: DeliverySerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
    )
    def deliveries(self, request: Request, id: str) -> Response:
        page = self.paginate_queryset(delivery_list(endpoint=self._endpoint(request, id)))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        operation_id="getWebhookDelivery",
        summary="Get a delivery",
        description=(
            "One delivery with what happened: each attempt (when, how long, the status "
            "code, the error, the first 1 KiB of the answer) and the event body sent. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT, DELIVERY],
        responses={200: DeliveryDetailSerializer, **error_responses(401, 403, 404, 429)},
    )
    def delivery(self, request: Request, id: str, delivery: str) -> Response:
        found = delivery_get(endpoint=self._endpoint(request, id), delivery_id=delivery)
        return Response(DeliveryDetailSerializer(found).data)

    @extend_schema(
        operation_id="retryWebhookDelivery",
        summary="Send a delivery again now",
        description=(
            "Schedules the delivery for now, whatever its status (a succeeded or dead one "
            "too): 202 with the delivery; 409 `conflict` while the endpoint is disabled. "
            "**Capability:** `manage`."
        ),
        tags=TAGS,
        parameters=[ENDPOINT, DELIVERY],
        request=None,
        responses={202: DeliverySerializer, **error_responses(401, 403, 404, 409, 429)},
    )
    def retry(self, request: Request, id: str, delivery: str) -> Response:
        found = delivery_get(endpoint=self._endpoint(request, id), delivery_id=delivery)
        return Response(
            DeliverySerializer(delivery_retry(delivery=found)).data,
            status=status.HTTP_202_ACCEPTED,
        )

from typing import Any

from django.urls import path

from webhooks_app.api import WebhookViewSet

collection = WebhookViewSet.as_view({"get": "list", "post": "create"})
member = WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("webhooks", collection, name="webhooks"),
    path("webhooks/", collection),
    path("webhooks/<str:id>", member, name="webhook"),
    path("webhooks/<str:id>/", member),
]
routes: tuple[tuple[str, dict[str, Any]], ...] = (
    ("rotate-secret", {"post": "rotate_secret"}),
    ("test", {"post": "test"}),
    ("deliveries", {"get": "deliveries"}),
    ("deliveries/<str:delivery>", {"get": "delivery"}),
    ("deliveries/<str:delivery>/retry", {"post": "retry"}),
)
for suffix, actions in routes:
    view = WebhookViewSet.as_view(actions)
    urlpatterns += [
        path(f"webhooks/<str:id>/{suffix}", view),
        path(f"webhooks/<str:id>/{suffix}/", view),
    ]

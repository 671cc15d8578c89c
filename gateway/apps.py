"""The gateway project itself as an app: start-up checks and its management commands."""

import logging

import django_stubs_ext
from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.apps import AuthConfig
from rest_framework import fields, serializers

logger = logging.getLogger("gateway")

# Generic classes can be subscripted at run time (``ModelAdmin[Group]``,
# ``Serializer[Any]``), as their type stubs declare them: this module is imported first,
# before any app's models, admin or serializers.
django_stubs_ext.monkeypatch(
    extra_classes=[
        fields.Field,
        serializers.BaseSerializer,
        serializers.Serializer,
        serializers.ListSerializer,
        serializers.ModelSerializer,
    ]
)


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "WhatsApp Gateway"

    def ready(self) -> None:
        # DRF's views read its settings (our authentication classes, so our models) when
        # imported: subscriptable once the apps are loaded, before any API module is.
        from rest_framework import generics, viewsets

        django_stubs_ext.monkeypatch(
            extra_classes=[generics.GenericAPIView, viewsets.GenericViewSet]
        )
        for change in getattr(settings, "DATA_DIR_TIGHTENED", []):
            logger.warning("tightened a file the gateway keeps private: %s", change)


class AccessConfig(AuthConfig):
    """Django's staff users, under a plain heading in the operator console."""

    verbose_name = "Staff access"

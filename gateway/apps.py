"""The gateway project itself as an app: start-up checks and its management commands."""

import logging

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.apps import AuthConfig

logger = logging.getLogger("gateway")


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "WhatsApp Gateway"

    def ready(self) -> None:
        for change in getattr(settings, "DATA_DIR_TIGHTENED", []):
            logger.warning("tightened a file the gateway keeps private: %s", change)


class AccessConfig(AuthConfig):
    """Django's staff users, under a plain heading in the operator console."""

    verbose_name = "Staff access"

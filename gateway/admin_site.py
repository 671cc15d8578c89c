"""The operator console: Django's admin, branded, with a dashboard on its index."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class GatewayAdminSite(admin.AdminSite):
    site_header = "WhatsApp Gateway"
    site_title = "WhatsApp Gateway"
    index_title = "Operations"

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from gateway.dashboard import dashboard_context  # models load after app configs

        context = dashboard_context(request.user)
        return super().index(request, {**context, **(extra_context or {})})


class GatewayAdminConfig(AdminConfig):
    default_site = "gateway.admin_site.GatewayAdminSite"

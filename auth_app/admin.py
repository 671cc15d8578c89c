from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group as DjangoGroup
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from auth_app.capabilities import Capability
from auth_app.models import ApiKey, Organization
from auth_app.services import api_key_issue, api_key_revoke
from gateway.admin_helpers import confirmed
from gateway.dashboard import organizations_with_counts


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["slug", "name", "external_id", "sessions", "groups", "api_keys", "created_at"]
    search_fields = ["slug", "name", "external_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return organizations_with_counts()

    @admin.display(ordering="session_count")
    def sessions(self, organization: Organization) -> int:
        return int(organization.session_count)  # type: ignore[attr-defined]  # annotated

    @admin.display(ordering="group_count")
    def groups(self, organization: Organization) -> int:
        return int(organization.group_count)  # type: ignore[attr-defined]  # annotated

    @admin.display(description="active API keys", ordering="key_count")
    def api_keys(self, organization: Organization) -> int:
        return int(organization.key_count)  # type: ignore[attr-defined]  # annotated


class ApiKeyAddForm(forms.ModelForm[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["organization", "name", "can_read", "can_send", "can_manage", "expires_at"]
        labels = {
            "can_read": "read — list and get stored data",
            "can_send": "send — live actions on WhatsApp (create groups, sync)",
            "can_manage": "manage — sessions, pairing, API keys",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(flag) for flag in ("can_read", "can_send", "can_manage")):
            raise forms.ValidationError("Give the key at least one capability.")
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "Must be in the future.")
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Keys are issued here through the same service as `createapikey`: the key is shown
    once, on the page that answers the save, and only its hash is kept."""

    list_display = ["name", "display", "organization", "capability_list", "state", "last_used_at"]
    list_select_related = ["organization"]
    list_filter = ["organization", "can_send", "can_manage"]
    search_fields = ["name", "lookup_id", "organization__slug"]
    actions = ["revoke"]
    readonly_fields = [
        "organization",
        "display",
        "can_read",
        "can_send",
        "can_manage",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    fields = ["name", "expires_at", *readonly_fields]
    list_per_page = 100

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    @admin.display(description="capabilities")
    def capability_list(self, api_key: ApiKey) -> str:
        return ", ".join(c.value for c in Capability if c in api_key.capabilities)

    @admin.display(description="state")
    def state(self, api_key: ApiKey) -> str:
        if api_key.revoked_at is not None:
            css, label = "failed", "revoked"
        elif api_key.is_expired():
            css, label = "logged_out", "expired"
        else:
            css, label = "connected", "active"
        return format_html('<span class="badge status-{}">{}</span>', css, label)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "expires_at"])
            return
        issued = api_key_issue(
            organization=obj.organization,
            capabilities=frozenset(
                cap
                for cap, flag in (
                    (Capability.READ, obj.can_read),
                    (Capability.SEND, obj.can_send),
                    (Capability.MANAGE, obj.can_manage),
                )
                if flag
            ),
            name=obj.name,
            expires_at=obj.expires_at,
        )
        obj.pk = issued.api_key.pk
        obj.__dict__.update(issued.api_key.__dict__)
        # Only for the response to this request; never stored, logged or put in a message.
        request._issued_api_key = issued.token  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        token = getattr(request, "_issued_api_key", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/auth_app/apikey/issued.html",
            {
                **self.admin_site.each_context(request),
                "title": "API key issued",
                "api_key": obj,
                "capabilities": self.capability_list(obj),
                "token": token,
                "opts": self.model._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        asked = confirmed(
            self,
            request,
            queryset,
            action="revoke",
            title="Revoke these API keys?",
            consequence=(
                "Revoking stops a key at once, for good: every script or service using it "
                "gets 401 from its next request."
            ),
        )
        if asked is not None:
            return asked
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)
        return None


# Django's permission groups are not used here; beside the stored "WhatsApp groups" they
# only confuse. People (staff users) stay, under "Access".
admin.site.unregister(DjangoGroup)

from django.contrib import admin

from auth_app.models import ApiKey, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "external_id", "created_at"]
    search_fields = ["slug", "name", "external_id"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "display",
        "organization",
        "can_read",
        "can_send",
        "can_manage",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_select_related = ["organization"]
    list_filter = ["organization", "can_send", "can_manage"]
    readonly_fields = ["display", "last_used_at", "created_at"]
    fields = [
        "organization",
        "name",
        "display",
        "can_read",
        "can_send",
        "can_manage",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]

    def has_add_permission(self, request: object) -> bool:
        # Keys are issued by `createapikey` (which shows the secret once); the admin
        # cannot show a secret, so it does not create keys.
        return False

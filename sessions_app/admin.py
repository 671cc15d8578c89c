from django.contrib import admin

from sessions_app.models import WhatsAppSession


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "organization",
        "engine",
        "status",
        "jid",
        "connected_at",
        "last_seen_at",
        "status_reason",
    ]
    list_select_related = ["organization"]
    list_filter = ["status", "engine", "organization"]
    search_fields = ["id", "name", "jid"]
    readonly_fields = [
        "id",
        "status",
        "status_reason",
        "jid",
        "push_name",
        "connected_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    ]

from django.contrib import admin

from groups_app.models import Group, GroupParticipant


class GroupParticipantInline(admin.TabularInline):
    model = GroupParticipant
    fields = ["jid", "is_admin", "is_super_admin", "add_result", "invite_expires_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Stored WhatsApp data: read-only here; it changes through WhatsApp."""

    list_display = [
        "subject",
        "jid",
        "session",
        "participant_count",
        "is_announce",
        "is_locked",
        "updated_at",
    ]
    list_select_related = ["session"]
    list_filter = ["is_announce", "is_locked", "session__organization"]
    search_fields = ["subject", "jid"]
    inlines = [GroupParticipantInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

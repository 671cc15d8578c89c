from django.contrib import admin
from django.http import HttpRequest

from groups_app.models import Group, GroupParticipant


class GroupParticipantInline(admin.TabularInline):
    model = GroupParticipant
    fields = ("jid", "lid", "role", "add_result", "invite_expires_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    @admin.display(description="role")
    def role(self, participant: GroupParticipant) -> str:
        return participant.role


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Stored WhatsApp data: read-only here; it changes through WhatsApp."""

    list_display = [
        "subject",
        "jid",
        "session",
        "organization",
        "participant_count",
        "is_announce",
        "is_locked",
        "updated_at",
    ]
    list_select_related = ["session", "session__organization"]
    list_filter = ["session__organization", "session", "is_announce", "is_locked"]
    search_fields = ["subject", "jid"]
    inlines = [GroupParticipantInline]
    list_per_page = 100

    @admin.display(description="organization", ordering="session__organization__slug")
    def organization(self, group: Group) -> str:
        return group.session.organization.slug

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

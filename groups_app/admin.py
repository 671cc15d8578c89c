from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from groups_app.models import AddResult, Group, GroupParticipant
from sessions_app.models import WhatsAppSession

IN_THE_GROUP = (AddResult.ADDED, AddResult.ALREADY_MEMBER)


class _ParticipantsInline(admin.TabularInline[GroupParticipant, Group]):
    """A group's participants as WhatsApp reported them: read-only."""

    model = GroupParticipant
    extra = 0
    max_num = 0
    can_delete = False


class GroupParticipantInline(_ParticipantsInline):
    """The group's members, with their roles."""

    fields = ("jid", "lid", "role")
    readonly_fields = fields
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GroupParticipant]:
        return super().get_queryset(request).filter(add_error__in=IN_THE_GROUP)


class NotAddedInline(_ParticipantsInline):
    """People WhatsApp did not add (privacy settings: send them the invite; not on
    WhatsApp): not members, so no role."""

    fields = ("jid", "add_result", "invite_expires_at")
    readonly_fields = fields
    verbose_name = "person not added"
    verbose_name_plural = "not added by WhatsApp"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GroupParticipant]:
        return super().get_queryset(request).exclude(add_error__in=IN_THE_GROUP)


class SessionOfOrganization(admin.SimpleListFilter):
    """Sessions to filter by, once an organization is chosen (never every tenant's)."""

    title = "session (choose an organization first)"
    parameter_name = "session__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        organization = request.GET.get("session__organization__id__exact")
        chosen = request.GET.get(self.parameter_name)
        if organization:
            sessions = WhatsAppSession.objects.filter(organization_id=organization)
        elif chosen:  # a link straight to one session's groups
            sessions = WhatsAppSession.objects.filter(pk=chosen)
        else:
            return []
        return [
            (session.pk, str(session.name or session.pk)) for session in sessions.order_by("name")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Group]) -> QuerySet[Group]:
        value = self.value()
        return queryset.filter(session_id=value) if value else queryset


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin[Group]):
    """Stored WhatsApp data: read-only here; it changes through WhatsApp."""

    list_display = ["subject", "session", "organization", "participant_count", "updated_at"]
    list_select_related = ["session", "session__organization"]
    list_filter = ["session__organization", SessionOfOrganization, "is_announce", "is_locked"]
    search_fields = ["subject", "jid"]
    inlines = [GroupParticipantInline, NotAddedInline]
    list_per_page = 100

    @admin.display(description="organization", ordering="session__organization__slug")
    def organization(self, group: Group) -> str:
        return group.session.organization.slug

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

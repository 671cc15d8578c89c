from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from gateway.admin_helpers import confirmed, truncated, wait_words
from gateway.exceptions import GatewayError, RunnerUnavailable
from groups_app.models import Group
from groups_app.services import group_sync
from sessions_app.models import (
    LiveActionRecord,
    Runner,
    SessionEvent,
    SessionLease,
    SessionStatus,
    WhatsAppSession,
)
from sessions_app.send_budget import use_of
from sessions_app.services import session_connect, session_create, session_logout


def status_badge(session: WhatsAppSession) -> str:
    return format_html(
        '<span class="badge status-{}">{}</span>', session.status, session.get_status_display()
    )


class StoredGroupInline(admin.TabularInline[Group, WhatsAppSession]):
    model = Group
    fields = (
        "group_link",
        "jid",
        "participant_count",
        "is_announce",
        "is_locked",
        "updated_at",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-id"]
    verbose_name_plural = "stored groups"

    @admin.display(description="subject")
    def group_link(self, group: Group) -> str:
        """The subject, linking to the group's page (the inline's own change link sits in
        the row title, which the console hides)."""
        url = reverse("admin:groups_app_group_change", args=[group.pk])
        return format_html('<a href="{}">{}</a>', url, group.subject or group.jid)


class SessionEventInline(admin.TabularInline[SessionEvent, WhatsAppSession]):
    model = SessionEvent
    fields = ("at", "status", "reason", "count", "first_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "connection history (newest first)"


SESSION_BUTTONS = [("connect", "Connect"), ("sync_groups", "Sync groups"), ("log_out", "Log out")]


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin[WhatsAppSession]):
    # Few columns that fit the page; the rest is on a session's own page.
    list_display = ["name_or_id", "status_display", "reason", "organization", "last_seen_at"]
    list_display_links = ["name_or_id"]
    list_select_related = ["organization"]
    list_filter = ["status", "engine", "organization"]
    search_fields = ["id", "name", "jid"]
    readonly_fields = [
        "id",
        "status_display",
        "status_reason",
        "desired_connected",
        "jid",
        "push_name",
        "connected_at",
        "last_seen_at",
        "next_retry",
        "held_by",
        "send_budget",
        "qr_expires_at",
        "created_at",
        "updated_at",
    ]
    fields = (
        "organization",
        "name",
        "engine",
        "send_budget_per_minute",
        "send_budget_per_day",
        *readonly_fields,
    )
    inlines = [SessionEventInline, StoredGroupInline]
    actions = ["connect", "sync_groups", "log_out"]
    change_form_template = "admin/sessions_app/whatsappsession/change_form.html"
    list_per_page = 100

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The list's actions as buttons on the page, for staff who may run them.
        offered = self.get_actions(request)
        buttons = [(name, label) for name, label in SESSION_BUTTONS if name in offered]
        context = {**(extra_context or {}), "session_actions": buttons}
        return super().change_view(request, object_id, form_url, context)

    def get_readonly_fields(
        self, request: HttpRequest, obj: WhatsAppSession | None = None
    ) -> list[str]:
        # The engine and organization are chosen once, at creation.
        return [*self.readonly_fields, "organization", "engine"] if obj else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: WhatsAppSession, form: object, change: bool
    ) -> None:
        if change:
            obj.save(
                update_fields=[
                    "name",
                    "send_budget_per_minute",
                    "send_budget_per_day",
                    "updated_at",
                ]
            )
            return
        created = session_create(organization=obj.organization, engine=obj.engine, name=obj.name)
        obj.pk = created.pk
        obj.__dict__.update(created.__dict__)

    @admin.display(description="session", ordering="name")
    def name_or_id(self, session: WhatsAppSession) -> str:
        return session.name or session.id

    @admin.display(description="status", ordering="status")
    def status_display(self, session: WhatsAppSession) -> str:
        return status_badge(session)

    @admin.display(description="why", ordering="status_reason")
    def reason(self, session: WhatsAppSession) -> str:
        return truncated(session.status_reason, 50)

    @admin.display(description="next retry")
    def next_retry(self, session: WhatsAppSession) -> str:
        """When the runner tries a failing connection again (its backoff doubles from
        2 s up to 5 minutes)."""
        at = session.next_retry_at
        shown = session.desired_connected and session.status != SessionStatus.CONNECTED
        if at is None or not shown:
            return "-"
        wait = (at - timezone.now()).total_seconds()
        if wait <= 0:
            return f"due since {at:%H:%M:%S} UTC (the runner is trying again)"
        return f"in {wait_words(wait)}, at {at:%H:%M:%S} UTC"

    @admin.display(description="held by runner")
    def held_by(self, session: WhatsAppSession) -> str:
        lease = SessionLease.objects.filter(session=session).first()
        if lease is None:
            return "no runner"
        state = "until" if lease.expires_at > timezone.now() else "expired"
        return f"{lease.runner_id} ({state} {lease.expires_at:%H:%M:%S} UTC, token {lease.token})"

    @admin.display(description="send budget (used now)")
    def send_budget(self, session: WhatsAppSession) -> str:
        """The budget in force (its own, or the engine's default; empty fields above mean
        the default) and what the current minute and day used."""
        use = use_of(session)
        budget = use.budget

        def part(used: int, limit: int | None, span: str) -> str:
            return f"{used} of {limit} this {span}" if limit is not None else f"{used} this {span}"

        if budget.unlimited:
            return f"unlimited ({part(use.used_minute, None, 'minute')}, today {use.used_day})"
        return (
            f"{part(use.used_minute, budget.per_minute, 'minute')}; "
            f"{part(use.used_day, budget.per_day, 'day')}"
        )

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[WhatsAppSession],
        operation: Callable[[WhatsAppSession], str],
    ) -> None:
        """Runs a live action per session; every outcome becomes a message, never a 500."""
        for session in queryset:
            try:
                done = operation(session)
            except RunnerUnavailable:
                self.message_user(
                    request,
                    "The session runner cannot be reached: start `manage.py runsessions` "
                    f"(nothing was done for {session}).",
                    messages.ERROR,
                )
                return
            except GatewayError as exc:
                self.message_user(request, f"{session}: {exc.message}", messages.WARNING)
            else:
                self.message_user(request, f"{session}: {done}", messages.SUCCESS)

    @admin.action(description="Connect selected sessions")
    def connect(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        def connect(session: WhatsAppSession) -> str:
            if session.is_connected:
                return "already connected"
            after = session_connect(session=session)
            return "connected" if after.is_connected else f"connecting ({after.status})"

        self._each(request, queryset, connect)

    @admin.action(description="Sync groups from WhatsApp")
    def sync_groups(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        def sync(session: WhatsAppSession) -> str:
            result = group_sync(session=session)
            return f"{result.stored} groups stored, {result.removed} removed"

        self._each(request, queryset, sync)

    @admin.action(description="Log out selected sessions")
    def log_out(
        self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]
    ) -> HttpResponse | None:
        asked = confirmed(
            self,
            request,
            queryset,
            action="log_out",
            title="Log these sessions out?",
            consequence=(
                "Logging out unlinks the device from its WhatsApp account: the number stops "
                "working here until someone pairs it again with the phone."
            ),
        )
        if asked is not None:
            return asked
        self._each(request, queryset, lambda s: session_logout(session=s).status)
        return None


@admin.register(LiveActionRecord)
class LiveActionRecordAdmin(admin.ModelAdmin[LiveActionRecord]):
    """The audit trail of live actions: read-only."""

    list_display = ["started_at", "action", "organization", "outcome"]
    list_select_related = ["organization"]
    list_filter = ["action", "state", "organization"]
    search_fields = ["session_ref", "principal_id", "idempotency_key"]
    date_hierarchy = "started_at"
    list_per_page = 100

    @admin.display(description="outcome", ordering="status_code")
    def outcome(self, record: LiveActionRecord) -> str:
        if record.status_code is None:
            return str(record.get_state_display())
        return f"{record.status_code} {record.error_code}".strip()

    @admin.display(description="by")
    def principal(self, record: LiveActionRecord) -> str:
        return f"{record.principal_kind}:{record.principal_id}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Runner)
class RunnerAdmin(admin.ModelAdmin[Runner]):
    """The session runners of the fleet, as their heartbeats report them (read-only)."""

    list_display = ["id", "url", "load", "capacity", "heartbeat_at", "started_at"]
    fields = ("id", "url", "load", "capacity", "heartbeat_at", "started_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

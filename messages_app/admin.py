"""Stored messages in the admin: read-only (they are WhatsApp's record), searchable by
chat and id, without the media keys the engine keeps to download them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gateway.admin_helpers import truncated
from messages_app.models import Message
from messages_app.output import message_output


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ["timestamp", "kind", "chat", "sender", "from_me", "preview", "session"]
    list_select_related = ["session"]
    list_filter = ["kind", "from_me", "session__organization"]
    search_fields = ["message_id", "chat", "sender", "session__id"]
    date_hierarchy = "timestamp"
    fields = (
        "session",
        "chat",
        "message_id",
        "sender",
        "sender_lid",
        "from_me",
        "kind",
        "text",
        "quoted_id",
        "mentions",
        "media_descriptor",
        "extra",
        "reactions",
        "votes",
        "edited_at",
        "deleted_at",
        "timestamp",
        "created_at",
    )
    readonly_fields = fields
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="text")
    def preview(self, message: Message) -> str:
        return truncated(message.text, 60)

    @admin.display(description="media")
    def media_descriptor(self, message: Message) -> Any:
        return message_output(message)["media"] or "-"

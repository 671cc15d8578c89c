from django.db import models

from sessions_app.engines.messages import RECEIVED_KINDS
from sessions_app.models import WhatsAppSession


class Message(models.Model):
    """A message of one of a session's chats, sent through the gateway or received
    (stored WhatsApp data; the bytes of media are not kept, their descriptor is)."""

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="messages")
    chat = models.CharField(max_length=64)
    # WhatsApp's message id: unique within the chat.
    message_id = models.CharField(max_length=128)
    # The sender's phone JID where known, else its LID; the LID beside it when known.
    sender = models.CharField(max_length=64)
    sender_lid = models.CharField(max_length=64, blank=True)
    from_me = models.BooleanField(default=False)
    kind = models.CharField(max_length=16, choices=[(kind, kind) for kind in RECEIVED_KINDS])
    text = models.TextField(blank=True)
    quoted_id = models.CharField(max_length=128, blank=True)
    mentions = models.JSONField(default=list, blank=True)
    # mimetype, size, filename, caption (media kinds), else null.
    media = models.JSONField(null=True, blank=True)
    # poll, reaction, group_invite: what the kind carries (see MessageInfo.extra).
    extra = models.JSONField(default=dict, blank=True)
    # Reactions by sender JID, and poll votes by sender JID (their options).
    reactions = models.JSONField(default=dict, blank=True)
    votes = models.JSONField(default=dict, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Sent through the gateway: the id derived from the request's Idempotency-Key
    # (``messages_app.services.message_id_for``), by which a retry finds what it sent —
    # the message's own id where the engine cannot choose it (WhatsApp picks its own).
    send_key = models.CharField(max_length=64, blank=True)
    # When WhatsApp says it was sent.
    timestamp = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WhatsApp message"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "chat", "message_id"], name="message_unique_per_chat"
            ),
        ]
        indexes = [
            # A chat's messages, newest stored first (cursor pagination on id).
            models.Index(fields=["session", "chat", "-id"], name="message_chat_newest"),
            # A retry's look for what its key sent.
            models.Index(fields=["session", "send_key"], name="message_send_key"),
            # Retention deletes the oldest first.
            models.Index(fields=["created_at"], name="message_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id} in {self.chat}"

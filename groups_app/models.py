from django.db import models

from sessions_app.engines.types import ADDED, ALREADY_MEMBER, NEEDS_INVITE, NOT_ON_WHATSAPP
from sessions_app.models import WhatsAppSession


class Group(models.Model):
    """A WhatsApp group as last seen by a session (stored WhatsApp data)."""

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="groups")
    jid = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner_jid = models.CharField(max_length=64, blank=True)
    is_announce = models.BooleanField("announcement only", default=False)
    is_locked = models.BooleanField("info locked to admins", default=False)
    # Members as WhatsApp reported them, owner included; those it refused are not counted.
    participant_count = models.PositiveIntegerField(default=0)
    whatsapp_created_at = models.DateTimeField(null=True, blank=True)
    # The current invite code, once asked for (stable until revoked).
    invite_code = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WhatsApp group"
        constraints = [
            models.UniqueConstraint(fields=["session", "jid"], name="group_unique_per_session"),
        ]
        # Listing is "this session's groups, newest first" (cursor pagination on id).
        indexes = [models.Index(fields=["session", "-id"], name="group_session_newest")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.jid})"


class AddResult(models.IntegerChoices):
    ADDED = ADDED, "added"
    NEEDS_INVITE = NEEDS_INVITE, "needs invite (privacy settings)"
    NOT_ON_WHATSAPP = NOT_ON_WHATSAPP, "not on WhatsApp"
    ALREADY_MEMBER = ALREADY_MEMBER, "already a member"


class GroupParticipant(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="participants")
    # The phone-number JID when WhatsApp gave one, else the LID.
    jid = models.CharField(max_length=64)
    # WhatsApp's LID for this member (…@lid), when it addressed them so.
    lid = models.CharField(max_length=64, blank=True)
    is_admin = models.BooleanField(default=False)
    is_super_admin = models.BooleanField(default=False)
    # WhatsApp's answer when this person was added: 0 = added, else its error code.
    # Codes other than AddResult's are kept as WhatsApp sent them.
    add_error = models.PositiveSmallIntegerField(default=ADDED)
    invite_code = models.CharField(max_length=128, blank=True)
    invite_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "jid"], name="participant_unique_per_group"),
        ]

    def __str__(self) -> str:
        return self.jid

    @property
    def role(self) -> str:
        return "superadmin" if self.is_super_admin else "admin" if self.is_admin else "member"

    @property
    def add_result(self) -> str:
        try:
            return AddResult(self.add_error).label
        except ValueError:
            return f"not added (WhatsApp error {self.add_error})"

from django.db import models
from ulid import ULID

from auth_app.models import Organization


def new_session_id() -> str:
    return str(ULID())


class Engine(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    SANDBOX = "sandbox", "Sandbox"


class SessionStatus(models.TextChoices):
    NEW = "new", "New"
    PAIRING = "pairing", "Pairing"
    CONNECTING = "connecting", "Connecting"
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"
    LOGGED_OUT = "logged_out", "Logged out"
    BANNED = "banned", "Banned"
    FAILED = "failed", "Failed"


class WhatsAppSession(models.Model):
    """One attached WhatsApp number: a linked device on that account."""

    id = models.CharField(primary_key=True, max_length=26, default=new_session_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sessions"
    )
    name = models.CharField(max_length=200, blank=True)
    engine = models.CharField(max_length=16, choices=Engine.choices)
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.NEW
    )
    status_reason = models.TextField(blank=True)
    # The account's own address once linked, e.g. 15551234567@s.whatsapp.net.
    jid = models.CharField(max_length=64, blank=True)
    push_name = models.CharField(max_length=200, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The operator wants this number connected: the runner keeps such sessions up.
    desired_connected = models.BooleanField(default=False)
    # The current pairing QR while pairing (what the phone scans), and when it expires.
    qr_code = models.TextField(blank=True)
    qr_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "WhatsApp session"
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["desired_connected"], name="session_desired_connected"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.engine})"

    @property
    def is_connected(self) -> bool:
        return self.status == SessionStatus.CONNECTED

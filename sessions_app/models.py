from django.db import models
from django.utils import timezone
from ulid import ULID

from auth_app.models import Organization

# Re-exported: the enums of these models' fields, next to them.
from sessions_app.status import Engine as Engine
from sessions_app.status import SessionStatus as SessionStatus


def new_session_id() -> str:
    return str(ULID())


class WhatsAppSession(models.Model):
    """One attached WhatsApp number: a linked device on that account."""

    id = models.CharField(primary_key=True, max_length=26, default=new_session_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sessions"
    )
    name = models.CharField(max_length=200, blank=True)
    engine = models.CharField(max_length=16, choices=Engine.choices())
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices(), default=SessionStatus.NEW
    )
    status_reason = models.TextField(blank=True)
    # The account's own address once linked, e.g. 15551234567@s.whatsapp.net.
    jid = models.CharField(max_length=64, blank=True)
    # The linked device exactly as paired, user:device@server: the device store's key.
    device_jid = models.CharField(max_length=80, blank=True)
    push_name = models.CharField(max_length=200, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The operator wants this number connected: the runner keeps such sessions up.
    desired_connected = models.BooleanField(default=False)
    # The current pairing QR while pairing (what the phone scans), and when it expires.
    qr_code = models.TextField(blank=True)
    qr_expires_at = models.DateTimeField(null=True, blank=True)
    # When the runner next tries a failing connection again (its backoff), for the
    # operator's eyes; cleared once connected or no longer wanted.
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # When a number was first linked to this session (the send budget's warm-up counts
    # from then); cleared by a logout, set again by the next pairing.
    paired_at = models.DateTimeField(null=True, blank=True)
    # The send budget (sessions_app.send_budget); null: the engine's default.
    send_budget_per_minute = models.PositiveIntegerField(null=True, blank=True)
    send_budget_per_day = models.PositiveIntegerField(null=True, blank=True)
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

    def presence(self) -> tuple[str, str]:
        """(status, reason) as readers are told. A session whose row says "connected"
        but whose lease has expired (or that no runner holds) is not connected: its
        runner stopped renewing — killed, paused or cut off — and wrote nothing. Known
        only when the read joined the lease (``selectors.with_lease``) and sessions are
        held by runners (not the in-process runner of tests)."""
        from django.conf import settings

        if (
            self.status != SessionStatus.CONNECTED
            or settings.GATEWAY_RUNNER_IN_PROCESS
            or not hasattr(self, "lease_expires_at")
        ):
            return self.status, self.status_reason
        expires_at = getattr(self, "lease_expires_at", None)
        if expires_at is not None and expires_at > timezone.now():
            return self.status, self.status_reason
        runner = getattr(self, "lease_runner", None)
        holder = f"its runner ({runner})" if runner else "no runner"
        return (
            SessionStatus.DISCONNECTED,
            f"{holder} stopped renewing its lease; waiting for another runner to take it over",
        )

    @property
    def shown_status(self) -> str:
        return self.presence()[0]

    @property
    def shown_status_reason(self) -> str:
        return self.presence()[1]


class ActionState(models.TextChoices):
    IN_PROGRESS = "in_progress", "in progress"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    # WhatsApp did not answer in time: it may or may not have acted.
    UNKNOWN = "unknown", "outcome unknown"


class LiveActionRecord(models.Model):
    """The audit trail of live actions (every live POST), and the claim on its
    Idempotency-Key. Records are kept; a key is claimed for 24 hours."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="live_actions"
    )
    # The path's session id as asked (the record exists even when it matched nothing).
    session_ref = models.CharField(max_length=64)
    # The live-action registry row's name (sessions_app.registry): no choices here, so a
    # new action needs no migration.
    action = models.CharField(max_length=40)
    principal_kind = models.CharField(max_length=16)
    principal_id = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    # NULL, not "", when absent: the claim is a unique constraint over non-null keys.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    state = models.CharField(
        max_length=16, choices=ActionState.choices, default=ActionState.IN_PROGRESS
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    # The answer to replay: a success in full, an error only when small (see audit.py).
    response_body = models.JSONField(null=True, blank=True)
    # SHA-256 of the whole answer as sent, whatever was kept of it.
    response_digest = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="idempotency_key_claimed_once_per_org",
            )
        ]
        indexes = [models.Index(fields=["organization", "-started_at"], name="action_org_recent")]

    def __str__(self) -> str:
        return f"{self.action} on {self.session_ref} ({self.state})"


class SessionEvent(models.Model):
    """Connection history: one row per status change, newest kept (see HISTORY_KEPT). A
    change that repeats one of the recent ones (a session failing the same way on every
    retry) bumps that row's count and last time instead of adding a row."""

    HISTORY_KEPT = 100

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="events")
    # The last time (the row's place in the history).
    at = models.DateTimeField(default=timezone.now)
    first_at = models.DateTimeField(default=timezone.now)
    count = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=SessionStatus.choices())
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["session", "-at"], name="session_event_recent")]
        verbose_name = "status change"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status}"


class Runner(models.Model):
    """A session runner of the fleet, as it last reported itself (its heartbeat)."""

    id = models.CharField(primary_key=True, max_length=120)
    # How web processes reach it (its runner protocol endpoint).
    url = models.CharField(max_length=300)
    capacity = models.PositiveIntegerField()
    # Sessions it held at its last heartbeat.
    load = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class SessionLease(models.Model):
    """Which runner holds a session, until when, under which fencing token. One row per
    session: at most one holder by construction. ``token`` grows with every new holder,
    so a runner that lost the lease (paused past its expiry) writes nothing with its
    old token."""

    session = models.OneToOneField(
        WhatsAppSession, on_delete=models.CASCADE, primary_key=True, related_name="lease"
    )
    runner_id = models.CharField(max_length=120, db_index=True)
    runner_url = models.CharField(max_length=300)
    token = models.BigIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.session_id} held by {self.runner_id} (token {self.token})"


class LiveCallSlot(models.Model):
    """A live call in flight, for its organization's cap on concurrent live calls
    (``sessions_app.live_limits``). Deleted when the call ends; one whose web process
    died expires after the longest a call can last, and the runner prunes it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"live call of {self.organization_id} until {self.expires_at:%H:%M:%S}"


class SendBudgetUse(models.Model):
    """How much of a session's send budget one window used (``sessions_app.send_budget``):
    one row per session, span ("minute" or "day") and window start."""

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="+")
    span = models.CharField(max_length=8)
    starts_at = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "span", "starts_at"], name="send_budget_use_unique"
            ),
        ]
        indexes = [models.Index(fields=["starts_at"], name="send_budget_use_start")]

    def __str__(self) -> str:
        return f"{self.session_id} {self.span} {self.starts_at:%Y-%m-%d %H:%M}: {self.used}"

from datetime import datetime

from django.db import models
from django.utils import timezone

from auth_app import keys
from auth_app.capabilities import Capability


class Organization(models.Model):
    """A tenant. Sessions, API keys and stored groups belong to exactly one."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # The organization id as the frontend's login JWT names it (the org claim).
    external_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """A secret for scripts and services, bound to one organization.

    Only the SHA-256 of the key is stored; the key itself is shown once at creation.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=200, blank=True)
    lookup_id = models.CharField(max_length=keys.LOOKUP_LENGTH, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    can_read = models.BooleanField(default=False)
    can_send = models.BooleanField(default=False)
    can_manage = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Written at most once per GATEWAY_API_KEY_LAST_USED_INTERVAL, never per request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name or 'key'} ({self.display})"

    @property
    def display(self) -> str:
        return keys.display(self.lookup_id)

    @property
    def capabilities(self) -> frozenset[Capability]:
        flags = {
            Capability.READ: self.can_read,
            Capability.SEND: self.can_send,
            Capability.MANAGE: self.can_manage,
        }
        return frozenset(cap for cap, on in flags.items() if on)

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

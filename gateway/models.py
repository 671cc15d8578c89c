"""The gateway's own tables (not any app's data)."""

from django.db import models


class RateCounter(models.Model):
    """One rate-limit window's request count for one principal and scope (used when no
    Redis is configured). Rows of past windows are pruned by the session runner."""

    key = models.CharField(max_length=255, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        # Kept from when the counters lived with the API keys: no data moves.
        db_table = "auth_app_ratecounter"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"

"""One organization's share of the gateway's live capacity, so that one tenant cannot
slow the others (the per-key request limits are in ``gateway.throttling``):

- **Concurrent live calls**: at most ``GATEWAY_LIVE_CALLS_PER_ORGANIZATION`` (default 4)
  in flight at once, across every web process. Each call holds a slot (a
  ``LiveCallSlot`` row) while it runs; beyond the cap the answer is 429 ``rate_limited``
  with ``details.budget = "concurrent_live_calls"`` and ``Retry-After: 1``. A slot whose
  web process died expires after the longest a live call can last.
- **Participants**: live calls that name participants (create a group, add, remove,
  promote, demote) cost one unit per participant in a per-organization budget,
  ``GATEWAY_RATE_LIMIT_PARTICIPANTS`` (default ``5000/minute``); beyond it 429 with
  ``details.budget = "participants"`` and ``Retry-After`` until the window ends. A
  refused call costs nothing; a call larger than the whole budget is charged the whole
  budget (it fits an empty window).

Both are counted before the call is audited or sent to WhatsApp: a refusal changes
nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auth_app.models import Organization
from gateway.exceptions import OverBudget
from gateway.throttling import count_in_window, give_back, parse_rate
from sessions_app.models import LiveCallSlot
from sessions_app.registry import longest_timeout

CONCURRENT = "concurrent_live_calls"
PARTICIPANTS = "participants"


def participants_named(data: Any) -> int:
    """How many participants a live call's body names (0 when it names none)."""
    people = data.get("participants") if isinstance(data, dict) else None
    return len(people) if isinstance(people, list) else 0


def charge_participants(*, organization_id: int, count: int) -> None:
    limit = parse_rate(settings.GATEWAY_RATE_LIMITS.get(PARTICIPANTS, "off"))
    if limit is None or count <= 0:
        return
    cost = min(count, limit[0])
    bucket = f"{PARTICIPANTS}:org:{organization_id}"
    used, remaining = count_in_window(bucket, limit, cost)
    if used > limit[0]:
        give_back(bucket, limit, cost)  # a refused call costs nothing
        raise OverBudget(
            f"this organization's live calls named more than {limit[0]} participants in "
            f"{limit[1]} s; retry later",
            budget=PARTICIPANTS,
            retry_after=max(1, int(remaining) + 1),
        )


@contextmanager
def live_call_slot(*, organization_id: int) -> Iterator[None]:
    """Holds one of the organization's concurrent live-call slots for the block."""
    cap = settings.GATEWAY_LIVE_CALLS_PER_ORGANIZATION
    if cap <= 0:
        yield
        return
    now = timezone.now()
    with transaction.atomic():
        # One organization's slots are counted and taken one caller at a time (the
        # organization's row is the lock; SQLite's write lock is the whole database).
        list(Organization.objects.select_for_update().filter(pk=organization_id).values("pk"))
        held = LiveCallSlot.objects.filter(
            organization_id=organization_id, expires_at__gt=now
        ).count()
        if held >= cap:
            raise OverBudget(
                f"this organization has {cap} live calls in flight already; retry shortly",
                budget=CONCURRENT,
                retry_after=1,
            )
        expires_at = now + timedelta(seconds=longest_timeout()) + timedelta(seconds=30)
        slot = LiveCallSlot.objects.create(organization_id=organization_id, expires_at=expires_at)
    try:
        yield
    finally:
        LiveCallSlot.objects.filter(pk=slot.pk).delete()


def prune_expired_slots() -> int:
    deleted, _ = LiveCallSlot.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted

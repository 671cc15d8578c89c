"""A session's send budget: how many actions that reach people it may take, so a number
is not banned for bulk sending (WhatsApp's own guidance).

Costs: a message sent is 1, a group created is 1, each participant added (at create or
later) is 1. A session's budget is its own (``PATCH /sessions/{id}``, ``sendBudget``)
or the engine's default: ``whatsapp`` sessions ``GATEWAY_SEND_BUDGET_PER_MINUTE`` (20)
and ``GATEWAY_SEND_BUDGET_PER_DAY`` (1,000), a quarter of each (at least 1) during the
first ``GATEWAY_SEND_WARMUP_DAYS`` (7) after the number was paired; ``sandbox`` sessions
unlimited.

Windows are fixed: the current UTC minute and the current UTC day. A request is charged
its whole cost before anything is sent, in one transaction that adds the cost to both
windows' rows (``INSERT … ON CONFLICT DO UPDATE … RETURNING``: the row lock on
PostgreSQL, the write lock on SQLite, so concurrent web processes and runners count
exactly) and rolls back if either is over: 429 ``rate_limited`` with ``Retry-After``
until the window that is full ends, and nothing charged. A request that fails for sure
(an error answer of the gateway's own: WhatsApp refused it, the runner was away) gets
its cost back; one whose outcome is unknown (504) keeps it: it may have been sent.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from gateway.exceptions import GatewayError, OverBudget, WhatsAppTimedOut
from sessions_app.models import SendBudgetUse, WhatsAppSession
from sessions_app.status import Engine

MINUTE = "minute"
DAY = "day"


@dataclass(frozen=True)
class Budget:
    """Per minute and per day; None: unlimited."""

    per_minute: int | None
    per_day: int | None

    @property
    def unlimited(self) -> bool:
        return self.per_minute is None and self.per_day is None


@dataclass(frozen=True)
class BudgetUse:
    budget: Budget
    used_minute: int
    used_day: int

    def as_details(self) -> dict[str, int | None]:
        return {
            "perMinute": self.budget.per_minute,
            "perDay": self.budget.per_day,
            "usedMinute": self.used_minute,
            "usedDay": self.used_day,
        }


def _starts(now: datetime) -> tuple[datetime, datetime]:
    minute = now.replace(second=0, microsecond=0)
    return minute, minute.replace(hour=0, minute=0)


def budget_of(session: WhatsAppSession, *, now: datetime | None = None) -> Budget:
    """The session's own budget, or its engine's default (warming up after pairing)."""
    if session.send_budget_per_minute is not None or session.send_budget_per_day is not None:
        return Budget(session.send_budget_per_minute, session.send_budget_per_day)
    if session.engine != Engine.WHATSAPP:
        return Budget(None, None)
    per_minute = int(settings.GATEWAY_SEND_BUDGET_PER_MINUTE)
    per_day = int(settings.GATEWAY_SEND_BUDGET_PER_DAY)
    now = now or timezone.now()
    warmup = timedelta(days=settings.GATEWAY_SEND_WARMUP_DAYS)
    if session.paired_at is None or session.paired_at > now - warmup:
        per_minute, per_day = max(1, per_minute // 4), max(1, per_day // 4)
    return Budget(per_minute, per_day)


def use_of(session: WhatsAppSession) -> BudgetUse:
    """The session's budget and what the current windows used."""
    now = timezone.now()
    minute, day = _starts(now)
    current = {(MINUTE, minute), (DAY, day)}
    used = {
        window: amount
        for window, starts_at, amount in SendBudgetUse.objects.filter(
            session_id=session.pk, starts_at__in=(minute, day)
        ).values_list("span", "starts_at", "used")
        if (window, starts_at) in current
    }
    return BudgetUse(budget_of(session, now=now), used.get(MINUTE, 0), used.get(DAY, 0))


def _add(session_id: str, window: str, starts_at: datetime, amount: int) -> int:
    table = connection.ops.quote_name(SendBudgetUse._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (session_id, span, starts_at, used) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (session_id, span, starts_at) "
            f"DO UPDATE SET used = {table}.used + EXCLUDED.used RETURNING used",
            [session_id, window, connection.ops.adapt_datetimefield_value(starts_at), amount],
        )
        return int(cursor.fetchone()[0])


class _Refused(Exception):
    def __init__(self, use: BudgetUse, retry_after: int) -> None:
        self.use = use
        self.retry_after = retry_after


def charge(*, session: WhatsAppSession, amount: int) -> bool:
    """Charges ``amount`` to the session's windows, or raises OverBudget (429) having
    charged nothing. False when the session's budget is unlimited (nothing counted)."""
    budget = budget_of(session)
    if amount <= 0 or budget.unlimited:
        return False
    now = timezone.now()
    minute, day = _starts(now)
    try:
        with transaction.atomic():
            used_minute = _add(session.pk, MINUTE, minute, amount)
            used_day = _add(session.pk, DAY, day, amount)
            over_minute = budget.per_minute is not None and used_minute > budget.per_minute
            over_day = budget.per_day is not None and used_day > budget.per_day
            if over_minute or over_day:
                ends = day + timedelta(days=1) if over_day else minute + timedelta(minutes=1)
                retry_after = max(1, int((ends - now).total_seconds() + 0.999))
                use = BudgetUse(budget, used_minute - amount, used_day - amount)
                raise _Refused(use, retry_after)
    except _Refused as refused:
        window = "day" if refused.retry_after > 60 else "minute"
        raise OverBudget(
            f"this session's send budget for the {window} is used up "
            f"({amount} more asked); retry later",
            budget=refused.use.as_details(),
            retry_after=refused.retry_after,
        ) from None
    return True


def refund(*, session: WhatsAppSession, amount: int) -> None:
    """Gives back a charge whose action certainly did not happen (to the same windows,
    unless they have ended since)."""
    minute, day = _starts(timezone.now())
    for window, starts_at in ((MINUTE, minute), (DAY, day)):
        SendBudgetUse.objects.filter(
            session_id=session.pk, span=window, starts_at=starts_at, used__gte=amount
        ).update(used=F("used") - amount)


@contextmanager
def spending(*, session: WhatsAppSession, amount: int) -> Iterator[None]:
    """Charges before the block (OverBudget if it does not fit); gives the charge back if
    the block fails with anything but an unknown outcome."""
    charged = charge(session=session, amount=amount)
    try:
        yield
    except WhatsAppTimedOut:
        raise  # it may have been sent: the charge stays
    except GatewayError:
        # Refused (by WhatsApp, the engine or the gateway's rules) or never sent (the
        # runner was away): nothing reached anyone.
        if charged:
            refund(session=session, amount=amount)
        raise


def prune_windows(*, before: datetime | None = None) -> int:
    """Deletes windows that ended (more than a day ago)."""
    cutoff = before or timezone.now() - timedelta(days=2)
    deleted, _ = SendBudgetUse.objects.filter(starts_at__lt=cutoff).delete()
    return deleted

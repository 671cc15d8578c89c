"""Session leases: which runner of the fleet holds which session (DESIGN, "runner fleet").

A session that should be connected is held by at most one runner at a time: one lease
row per session (``SessionLease``). A runner claims free or expired leases (one atomic
``INSERT … ON CONFLICT DO UPDATE … WHERE expired``, so two runners racing for a session
cannot both win), renews its own well before they expire, and releases them when it
stops or hands sessions back. Every claim increments the session's fencing token: a
runner writes session state only with the token it claimed (``Fence``), so one that was
paused past its lease and resumed changes nothing. Times are the database's clock, so
runners on machines whose clocks disagree still agree on expiry. Every statement here
is short and on its own: no lease row stays locked while a runner waits.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import Runner, SessionLease, WhatsAppSession


@dataclass(frozen=True)
class Fence:
    """The holder's claim on a session: its runner and the token it claimed with."""

    runner_id: str
    token: int


@dataclass(frozen=True)
class Holder:
    runner_id: str
    url: str
    expires_at: datetime


def db_now() -> datetime:
    """The database's clock (PostgreSQL), or this machine's (SQLite: one machine)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            value = cursor.fetchone()[0]
            return value if isinstance(value, datetime) else timezone.now()
    return timezone.now()


def _tables() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(SessionLease._meta.db_table), quote(WhatsAppSession._meta.db_table)


def holder_of(session_id: str) -> Holder | None:
    """The runner holding the session now, if any."""
    lease = (
        SessionLease.objects.filter(session_id=session_id, expires_at__gt=db_now())
        .values_list("runner_id", "runner_url", "expires_at")
        .first()
    )
    return Holder(*lease) if lease else None


def heartbeat(*, runner_id: str, url: str, capacity: int, load: int, started_at: datetime) -> None:
    Runner.objects.update_or_create(
        pk=runner_id,
        defaults={
            "url": url,
            "capacity": capacity,
            "load": load,
            "started_at": started_at,
            "heartbeat_at": db_now(),
        },
    )


def live_runners(*, lease_seconds: float) -> list[Runner]:
    """Runners whose heartbeat is younger than a lease."""
    since = db_now() - timedelta(seconds=lease_seconds)
    return list(Runner.objects.filter(heartbeat_at__gt=since))


def runner_gone(runner_id: str) -> None:
    Runner.objects.filter(pk=runner_id).delete()


def forget_dead_runner(runner_id: str) -> list[str]:
    """A runner known to be dead (it does not answer, and it cannot be running on this
    one-runner database): its leases are free at once. Returns the sessions it held."""
    with transaction.atomic():
        held = SessionLease.objects.filter(runner_id=runner_id)
        session_ids = list(held.values_list("session_id", flat=True))
        held.delete()
        runner_gone(runner_id)
    return session_ids


def claim(
    *,
    runner_id: str,
    url: str,
    lease_seconds: float,
    limit: int,
    only: str | None = None,
) -> dict[str, int]:
    """Claims up to ``limit`` sessions that should be connected and have no live holder
    (or just ``only``); returns each claimed session's new fencing token."""
    if limit <= 0:
        return {}
    lease, session = _tables()
    now = db_now()
    expires = now + timedelta(seconds=lease_seconds)
    only_clause = "AND s.id = %s" if only else ""
    sql = f"""
        INSERT INTO {lease} (session_id, runner_id, runner_url, token, expires_at)
        SELECT s.id, %s, %s, 1, %s FROM {session} s
        LEFT JOIN {lease} l ON l.session_id = s.id
        WHERE s.desired_connected AND (l.session_id IS NULL OR l.expires_at < %s) {only_clause}
        ORDER BY random() LIMIT %s
        ON CONFLICT (session_id) DO UPDATE SET
            runner_id = excluded.runner_id,
            runner_url = excluded.runner_url,
            token = {lease}.token + 1,
            expires_at = excluded.expires_at
        WHERE {lease}.expires_at < %s
        RETURNING session_id, token
    """  # noqa: S608 (table names from the models; values are parameters)
    params: list[Any] = [runner_id, url, expires, now, *([only] if only else []), limit, now]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: int(row[1]) for row in cursor.fetchall()}


def expired_holders(*, only: str | None = None) -> dict[str, str]:
    """Session id → the runner whose lease on it has expired (it stopped renewing: dead,
    paused or cut off), for the sessions a claim may now take over."""
    rows = SessionLease.objects.filter(expires_at__lt=db_now())
    if only is not None:
        rows = rows.filter(session_id=only)
    return dict(rows.values_list("session_id", "runner_id"))


def renew(*, runner_id: str, held: dict[str, int], lease_seconds: float) -> set[str]:
    """Extends the leases this runner still holds with the tokens it claimed them with;
    returns those it still holds (any other was taken over: stop it)."""
    if not held:
        return set()
    lease, _ = _tables()
    expires = db_now() + timedelta(seconds=lease_seconds)
    pairs = ", ".join(["(%s, %s)"] * len(held))
    sql = f"""
        UPDATE {lease} SET expires_at = %s
        WHERE runner_id = %s AND (session_id, token) IN (VALUES {pairs})
        RETURNING session_id
    """  # noqa: S608
    params: list[Any] = [expires, runner_id]
    for session_id, token in held.items():
        params += [session_id, token]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def release(*, runner_id: str, held: dict[str, int]) -> None:
    """Gives leases up (the sessions are stopped already): others may claim them now."""
    for session_id, token in held.items():
        SessionLease.objects.filter(
            session_id=session_id, runner_id=runner_id, token=token
        ).delete()


def is_current(session_id: str, fence: Fence) -> bool:
    return SessionLease.objects.filter(
        session_id=session_id,
        runner_id=fence.runner_id,
        token=fence.token,
        expires_at__gt=db_now(),
    ).exists()

"""The runner's database connections wait a bounded time.

A runner holds sessions by lease; a stalled database (a lock held elsewhere, a server
that stopped answering, a network that drops packets) must not hold the runner's loop,
or any of its threads, past a lease. On PostgreSQL every connection the runner opens has
a connect timeout and a statement timeout (lock waits included), both well under a
lease: a stalled statement fails, the loop's lease work reports it, and a runner that
cannot renew in time lets its sessions go (``FleetMember.tick``). SQLite waits on its
own busy timeout (``GATEWAY_SQLITE_TIMEOUT``) and runs one runner on one machine.
"""

import math
from dataclasses import dataclass

from django.db import connections


@dataclass(frozen=True)
class DatabaseWaits:
    connect_timeout_seconds: int
    statement_timeout_ms: int


def waits_for(lease_seconds: float) -> DatabaseWaits:
    """A fifth of a lease to connect (at least 2 s), a third of one per statement."""
    return DatabaseWaits(
        connect_timeout_seconds=max(2, math.ceil(lease_seconds / 5)),
        statement_timeout_ms=max(1000, int(lease_seconds * 1000 / 3)),
    )


def bound_database_waits(lease_seconds: float) -> DatabaseWaits | None:
    """Applies ``waits_for(lease_seconds)`` to every PostgreSQL connection this process
    opens from now on (and closes the open ones, so none is left unbounded)."""
    waits = waits_for(lease_seconds)
    applied = False
    for alias in connections:
        settings_dict = connections.settings[alias]
        if "postgresql" not in settings_dict["ENGINE"]:
            continue
        options = settings_dict.setdefault("OPTIONS", {})
        options["connect_timeout"] = waits.connect_timeout_seconds
        statement = f"-c statement_timeout={waits.statement_timeout_ms}"
        existing = str(options.get("options") or "")
        if statement not in existing:
            options["options"] = f"{existing} {statement}".strip()
        connection = connections[alias]
        connection.settings_dict["OPTIONS"] = options
        connection.close()
        applied = True
    return waits if applied else None

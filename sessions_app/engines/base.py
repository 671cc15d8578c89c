"""What an engine is: a live session held by the runner, reporting to a state sink.

A ``LiveSession`` is one connection to WhatsApp (or its simulation) for one session. It
lives only in the runner process (``runsessions``). It reports what happens through a
``StateSink`` — the runner's sink writes to the database — and performs live actions
when asked. Actions raise ``gateway.exceptions`` errors (NotConnected, Conflict,
WhatsAppFailed, WhatsAppRateLimited, WhatsAppTimedOut).

Engines are pure adapters: nothing under ``sessions_app/engines/`` imports a model, a
selector or another app. What they need to know of the store (the groups already
stored) they ask the sink, which the runner backs with ``groups_app.store``.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sessions_app.engines.messages import MessageChange, MessageInfo
from sessions_app.engines.types import (
    GroupChange,
    GroupInfo,
)


class StateSink(Protocol):
    def status(
        self,
        status: str,
        reason: str = "",
        *,
        jid: str | None = None,
        device_jid: str | None = None,
        push_name: str | None = None,
        keep_connecting: bool = True,
    ) -> None:
        """A transition. ``keep_connecting=False`` means the operator must act (logged
        out, banned, replaced): the runner stops trying. ``device_jid`` is the linked
        device exactly as paired (``user:device@server``)."""

    def qr(self, code: str, expires_at: datetime) -> None: ...

    def groups(
        self,
        infos: list[GroupInfo],
        *,
        complete: bool,
        fetch_started: datetime | None = None,
        created: bool = False,
    ) -> None:
        """Groups as WhatsApp reported them; ``complete`` when this is every joined group
        (a full sync, fetched from ``fetch_started``: stored groups not listed are gone);
        ``created`` when the account made them (announced as created, not joined)."""

    def group_changed(self, change: GroupChange) -> None:
        """A group event: apply what it says changed to the stored group."""

    def group_gone(self, group_jid: str, reason: str) -> None:
        """The account is no longer in the group (``reason``: "removed" or "deleted"):
        it goes from the store, announced as ``group.left``."""

    def message_seen(self, info: MessageInfo) -> None:
        """A message arrived (or the account sent one from another device): stored once
        per chat and id, announced as ``message.received``."""

    def message_changed(self, change: MessageChange) -> None:
        """A stored message was edited, deleted, reacted to or voted on."""

    def stored_groups(self) -> list[GroupInfo]:
        """The session's groups as the store holds them (the sandbox's "WhatsApp")."""

    def groups_not_known_before(self, infos: list[GroupInfo], *, since: float) -> list[GroupInfo]:
        """Those of ``infos`` the store did not hold before the Unix time ``since``: not
        stored, or first stored since then."""

    def stored_invite_code(self, group_jid: str) -> str:
        """The group's invite code as last stored ('' when none): the sandbox's memory."""

    def group_by_invite_code(self, code: str) -> GroupInfo | None:
        """The stored group (of any session) whose current invite code this is: the
        sandbox's memory, so its codes work across sessions as WhatsApp's do."""

    def forget_device(self) -> None:
        """The account unlinked this device: delete its keys from the device store."""

    def done(self) -> None:
        """The calling thread reports nothing more (its resources can be released)."""


# Called by a live session when its connection ended; True asks for a retry with backoff.
EndedCallback = Callable[[bool], None]


class LiveSession(Protocol):
    """A session's connection, as the runner drives it: its lifecycle, nothing more.

    What an engine can do besides (create a group, log out, …) is declared next to the
    registry rows that call it (``SessionOperations`` in ``sessions_app.registry``,
    ``GroupOperations`` in ``groups_app.registry``); an engine implements the operations it
    supports, and a row finds out through ``sessions_app.registry.engine_for``."""

    @property
    def connected(self) -> bool: ...

    def start(self) -> None:
        """Begin connecting (returns at once)."""

    def stop(self) -> None:
        """Close the connection and release the client (idempotent)."""

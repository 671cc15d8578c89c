"""The messages a runner and its session workers exchange: one JSON object a line.

Typed here once, for both sides (``sessions_app.runner.workers`` and
``sessions_app.worker``); no Django. Every message has an ``op`` that says which it is.
"""

from typing import Any, Literal, NotRequired, TypedDict

Wire = dict[str, Any]


# -- runner → worker (the worker's stdin) ------------------------------------------------


class CallMessage(TypedDict):
    """Run a registry row; ``known_jids``: the groups the store held before the call."""

    op: Literal["call"]
    id: int
    action: str
    payload: Wire
    known_jids: list[str]


class LeaseMessage(TypedDict):
    """The runner renewed its lease: hold the connection this many seconds more."""

    op: Literal["lease"]
    hold_for: float


class StopMessage(TypedDict):
    op: Literal["stop"]


ToWorker = CallMessage | LeaseMessage | StopMessage


# -- worker → runner (the protocol pipe) ----------------------------------------------------


class ErrorWire(TypedDict):
    """A domain error as the API's envelope carries it."""

    code: str
    message: str
    details: NotRequired[dict[str, Any]]
    retry_after: NotRequired[int | None]


class ResultMessage(TypedDict):
    op: Literal["result"]
    id: int | None
    result: Wire


class ErrorMessage(TypedDict):
    op: Literal["error"]
    id: int | None
    error: ErrorWire


class StatusMessage(TypedDict):
    op: Literal["status"]
    status: str
    reason: str
    jid: str | None
    device_jid: str | None
    push_name: str | None
    keep_connecting: bool


class QrMessage(TypedDict):
    op: Literal["qr"]
    code: str
    expires_at: str


class GroupsMessage(TypedDict):
    op: Literal["groups"]
    infos: list[Wire]
    complete: bool
    fetch_started: str | None
    created: bool


class GroupChangedMessage(TypedDict):
    op: Literal["group_changed"]
    change: Wire


class GroupGoneMessage(TypedDict):
    op: Literal["group_gone"]
    group_jid: str
    reason: str


class MessageSeenMessage(TypedDict):
    op: Literal["message_seen"]
    message: Wire


class MessageChangedMessage(TypedDict):
    op: Literal["message_changed"]
    change: Wire


class ForgetDeviceMessage(TypedDict):
    op: Literal["forget_device"]


class EndedMessage(TypedDict):
    """This connection is over (``retry``: the runner should try again, with backoff)."""

    op: Literal["ended"]
    retry: bool


FromWorker = (
    ResultMessage
    | ErrorMessage
    | StatusMessage
    | QrMessage
    | GroupsMessage
    | GroupChangedMessage
    | GroupGoneMessage
    | MessageSeenMessage
    | MessageChangedMessage
    | ForgetDeviceMessage
    | EndedMessage
)

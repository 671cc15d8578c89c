"""Live actions: the one way the web process asks for something to happen on WhatsApp.

Each function routes the request to the process that holds the session's connection.
Today that is the single runner at ``GATEWAY_RUNNER_URL``: answering "which runner owns
session X" is ``_perform``'s job alone, so running several runners later changes this
function and nothing that calls it. With ``GATEWAY_RUNNER_IN_PROCESS`` (the test suite)
a runner supervisor inside this process answers instead, through the same code.
"""

import threading
from datetime import datetime
from typing import Any

from django.conf import settings

from sessions_app.engines.types import GroupInfo

_in_process: Any = None
_in_process_lock = threading.Lock()


def in_process_supervisor() -> Any:
    global _in_process
    with _in_process_lock:
        if _in_process is None:
            from sessions_app.runner.supervisor import Supervisor

            _in_process = Supervisor(allow_whatsapp=False)
        return _in_process


def reset_in_process() -> None:
    """Stops the in-process supervisor's sessions and forgets it (between tests)."""
    global _in_process
    with _in_process_lock:
        supervisor, _in_process = _in_process, None
    if supervisor is not None:
        supervisor.stop_all(record=False)


def _perform(session_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    if settings.GATEWAY_RUNNER_IN_PROCESS:
        return in_process_supervisor().perform(session_id, action, payload)
    from sessions_app.runner.client import call_runner

    return call_runner(session_id, action, payload)


def connect(*, session_id: str) -> None:
    _perform(session_id, "connect", {})


def create_group(*, session_id: str, name: str, participants: list[str]) -> GroupInfo:
    result = _perform(session_id, "create_group", {"name": name, "participants": participants})
    return GroupInfo.from_dict(result["group"])


def find_created_group(*, session_id: str, name: str, since: datetime) -> GroupInfo | None:
    """A group with this subject WhatsApp made since ``since`` that the store lacks."""
    result = _perform(session_id, "find_created_group", {"name": name, "since": since.timestamp()})
    return GroupInfo.from_dict(result["group"]) if result.get("group") else None


def sync_groups(*, session_id: str) -> list[GroupInfo]:
    result = _perform(session_id, "sync_groups", {})
    return [GroupInfo.from_dict(group) for group in result["groups"]]


def pair_code(*, session_id: str, phone: str) -> str:
    return str(_perform(session_id, "pair_code", {"phone": phone})["code"])


def logout(*, session_id: str) -> None:
    _perform(session_id, "logout", {})


def release(*, session_id: str) -> None:
    """Stop holding the session (it is being deleted)."""
    _perform(session_id, "release", {})

from typing import Protocol

from sessions_app.engines.types import AccountInfo, GroupInfo
from sessions_app.models import WhatsAppSession


class Engine(Protocol):
    """The live actions a session can perform. Implementations raise ``gateway.exceptions``
    errors (WhatsAppFailed, WhatsAppRateLimited, WhatsAppTimedOut, RunnerUnavailable)."""

    def connect(self, *, session: WhatsAppSession) -> AccountInfo: ...

    def create_group(
        self, *, session: WhatsAppSession, name: str, participants: list[str]
    ) -> GroupInfo: ...

"""The whatsapp engine as seen from a process that holds no WhatsApp connection.

Real WhatsApp connections live only in the session runner (``runsessions``); a process
without the runner cannot perform live actions for a whatsapp session and says so.
"""

from gateway.exceptions import RunnerUnavailable
from sessions_app.engines.types import AccountInfo, GroupInfo
from sessions_app.models import WhatsAppSession

_MESSAGE = "whatsapp sessions are served by the session runner, which cannot be reached"


class RunnerOnlyEngine:
    def connect(self, *, session: WhatsAppSession) -> AccountInfo:
        raise RunnerUnavailable(_MESSAGE)

    def create_group(
        self, *, session: WhatsAppSession, name: str, participants: list[str]
    ) -> GroupInfo:
        raise RunnerUnavailable(_MESSAGE)

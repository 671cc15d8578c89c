"""A session's engine and connection status, and the rules' sets, without Django.

Plain enums (the session worker, which loads no Django, reports these too); ``choices``
and ``values`` give Django fields and argument parsers what TextChoices would.
``sessions_app.transitions`` applies what each status means to the stored session.
"""

from enum import StrEnum


class _Choices(StrEnum):
    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]


class Engine(_Choices):
    WHATSAPP = "whatsapp"
    SANDBOX = "sandbox"

    @property
    def label(self) -> str:
        return "WhatsApp" if self is Engine.WHATSAPP else "Sandbox"


class SessionStatus(_Choices):
    NEW = "new"
    PAIRING = "pairing"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    LOGGED_OUT = "logged_out"
    BANNED = "banned"
    FAILED = "failed"


# After these the operator must act (pair again, wait out a ban, fix the cause): the
# runner stops trying, and connecting again starts afresh.
TERMINAL_STATUSES = frozenset(
    {SessionStatus.LOGGED_OUT, SessionStatus.BANNED, SessionStatus.FAILED}
)


# As the OpenAPI schema names them (SessionStatus, Engine).
SESSION_STATUSES = SessionStatus.values()
ENGINES = Engine.values()

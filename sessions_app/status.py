"""A session's connection status and its rules, without the database.

Engines report statuses; ``sessions_app.transitions`` applies what each one means to the
stored session. Both read the names and the rule sets here, defined once.
"""

from django.db import models


class Engine(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    SANDBOX = "sandbox", "Sandbox"


class SessionStatus(models.TextChoices):
    NEW = "new", "New"
    PAIRING = "pairing", "Pairing"
    CONNECTING = "connecting", "Connecting"
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"
    LOGGED_OUT = "logged_out", "Logged out"
    BANNED = "banned", "Banned"
    FAILED = "failed", "Failed"


# After these the operator must act (pair again, wait out a ban, fix the cause): the
# runner stops trying, and connecting again starts afresh.
TERMINAL_STATUSES = frozenset(
    {SessionStatus.LOGGED_OUT, SessionStatus.BANNED, SessionStatus.FAILED}
)

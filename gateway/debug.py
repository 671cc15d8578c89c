"""What development mode may show, and where it may listen.

Django's DEBUG error page lists settings and the process environment, hiding names that
match ``API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE``: ``DATABASE_URL`` and
``REDIS_URL`` (with their passwords) pass that filter. This one hides them too. And a
server with DEBUG on must only listen on loopback, where nobody else can ask it for
that page.
"""

import ipaddress
import re

from django.views.debug import SafeExceptionReporterFilter

HIDDEN_NAMES = re.compile(
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE|REDIS|URL|DSN|LOCATION|AUTH",
    flags=re.IGNORECASE,
)


class SecretHidingExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_NAMES


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``[::1]``, ``localhost``: nothing outside this machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_public_debug(host: str, what: str) -> str | None:
    """The error to stop with when DEBUG is on and ``host`` is not loopback."""
    from django.conf import settings

    if settings.DEBUG and not is_loopback(host):
        return (
            f"refusing to start {what} on {host} with DEBUG on: development mode shows "
            "settings and the environment to anyone who can reach it. Listen on 127.0.0.1, "
            "or turn DEBUG off (and set SECRET_KEY)."
        )
    return None

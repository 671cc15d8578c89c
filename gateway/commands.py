"""Shared pieces of the management commands: one-line errors instead of tracebacks."""

from django.core.management.base import CommandError

from gateway.exceptions import GatewayError


def command_error(exc: GatewayError) -> CommandError:
    """A GatewayError as a one-line CommandError (exit code 1, no traceback)."""
    parts = [exc.message]
    for field, messages in exc.details.items():
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else messages
        parts.append(f"{field}: {text}")
    return CommandError(" — ".join(parts))

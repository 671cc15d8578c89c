"""Shared pieces of the management commands.

Conventions every command follows: exit 0 on success, 1 when the operation failed, 2 for
bad usage (argparse's own errors, and arguments that parse but make no sense); errors
are one line on stderr, never a traceback; ``--json`` prints data for scripts (and
nothing else: no progress bar).

Repeats: a command that asks for a state that already holds — revoking a revoked key,
logging out a logged-out session, seeding a seeded database — succeeds (exit 0), says
``already …``, and with ``--json`` prints the object as
it is. Creating what exists (an organization's slug) is a conflict: exit 1.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gateway.exceptions import GatewayError, InvalidInput


def command_error(exc: GatewayError) -> CommandError:
    """A GatewayError as a one-line CommandError (exit code 1, no traceback)."""
    # "request body is invalid" means nothing in a terminal: the details say it all.
    generic = isinstance(exc, InvalidInput) and exc.message == InvalidInput.default_message
    parts = [] if generic and exc.details else [exc.message]
    for field, messages in exc.details.items():
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else messages
        parts.append(f"{field}: {text}")
    return CommandError(" — ".join(parts))


def usage_error(message: str) -> CommandError:
    """Arguments that parse but make no sense: exit code 2, like argparse."""
    return CommandError(message, returncode=2)


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_json(command: BaseCommand, data: Any) -> None:
    command.stdout.write(json.dumps(data, default=_default, sort_keys=True))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)

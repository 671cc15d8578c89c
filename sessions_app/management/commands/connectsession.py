import time
from argparse import ArgumentParser
from typing import Any, TextIO, cast

import segno
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from gateway.commands import add_json_flag, command_error, usage_error, write_json
from gateway.exceptions import GatewayError, RunnerUnavailable
from sessions_app import routing
from sessions_app.jids import PHONE_RE
from sessions_app.management.commands.listsessions import session_data
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.registry import PAIR_CODE, PairCode
from sessions_app.selectors import session_get_for_operator
from sessions_app.services import session_connect
from sessions_app.status import TERMINAL_STATUSES

_GIVE_UP = TERMINAL_STATUSES


def watch_connection(
    session: WhatsAppSession,
    *,
    out: OutputWrapper,
    phone: str | None,
    timeout: float,
    poll_seconds: float = 1.0,
) -> WhatsAppSession:
    """Follows the session's stored state until it is connected: prints each status
    change, each new pairing QR (or, with ``phone``, a pairing code once). Raises
    CommandError when it gives up or time runs out."""
    deadline = time.monotonic() + timeout
    last_status = last_qr = ""
    code_shown = False
    while True:
        session.refresh_from_db()
        if session.status != last_status:
            reason = f" — {session.status_reason}" if session.status_reason else ""
            out.write(f"status: {session.status}{reason}")
            last_status = session.status
        if session.status == SessionStatus.CONNECTED:
            out.write(f"connected as {session.jid or 'the account'}")
            return session
        if session.status in _GIVE_UP and not session.desired_connected:
            raise CommandError(f"{session.status}: {session.status_reason}")
        if session.status == SessionStatus.PAIRING and session.qr_code:
            if phone and not code_shown:
                code = routing.perform(
                    PAIR_CODE, session_id=session.id, payload=PairCode(phone=phone)
                )
                out.write(
                    f"Pairing code: {code}\nOn the phone: WhatsApp → Linked devices → Link a "
                    "device → Link with phone number instead, then type the code."
                )
                code_shown = True
            elif not phone and session.qr_code != last_qr:
                out.write("Scan with the phone: WhatsApp → Linked devices → Link a device")
                segno.make_qr(session.qr_code).terminal(out=cast(TextIO, out), compact=True)
                last_qr = session.qr_code
        if time.monotonic() >= deadline:
            raise CommandError(
                f"timed out after {timeout:g}s (status: {session.status}); the runner keeps "
                "trying — run this again to watch"
            )
        time.sleep(poll_seconds)


class Command(BaseCommand):
    help = (
        "Connect a session and watch it until it is connected. A sandbox session connects at "
        "once; a new whatsapp session pairs: the pairing QR is printed here to scan (or, with "
        "--phone, a pairing code to type on the phone). Needs the runner (runsessions)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("session_id", help="the session's id")
        parser.add_argument(
            "--phone", help="pair by code instead of QR: the account's number, digits only"
        )
        parser.add_argument(
            "--timeout", type=float, default=180, help="seconds to wait (default 180)"
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="ask the runner to connect and return"
        )
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        phone = options["phone"]
        if phone is not None and not PHONE_RE.fullmatch(phone):
            raise usage_error("--phone: digits only, country code first, no '+'")
        try:
            session = session_get_for_operator(session_id=options["session_id"])
            session = session_connect(session=session)
        except RunnerUnavailable as exc:
            raise CommandError(
                f"the session runner is not reachable at {settings.GATEWAY_RUNNER_URL}: start "
                "`manage.py runsessions` (the session connects when it does)"
            ) from exc
        except GatewayError as exc:
            raise command_error(exc) from exc
        if not options["no_wait"]:
            # With --json the progress goes to stderr and the final state to stdout.
            progress = self.stderr if options["json"] else self.stdout
            try:
                session = watch_connection(
                    session, out=progress, phone=phone, timeout=options["timeout"]
                )
            except GatewayError as exc:
                raise command_error(exc) from exc
        if options["json"]:
            write_json(self, session_data(session))
        elif options["no_wait"]:
            self.stdout.write(f"{session.id} {session.status}")

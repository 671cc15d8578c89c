from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from gateway.commands import add_json_flag, command_error, write_json
from gateway.exceptions import GatewayError
from sessions_app.management.commands.listsessions import session_data
from sessions_app.models import SessionStatus
from sessions_app.selectors import session_get_for_operator
from sessions_app.services import session_logout


class Command(BaseCommand):
    help = "Log a session out: unlink the device from its WhatsApp account (needs the runner)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("session_id", help="the session's id")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            session = session_get_for_operator(session_id=options["session_id"])
            # A repeat is a success that says so (gateway.commands: repeats).
            already = session.status == SessionStatus.LOGGED_OUT
            if not already:
                session = session_logout(session=session)
        except GatewayError as exc:
            raise command_error(exc) from exc
        if options["json"]:
            write_json(self, session_data(session))
        elif already:
            self.stdout.write(f"{session.id} already logged_out")
        else:
            self.stdout.write(f"{session.id} {session.status}")

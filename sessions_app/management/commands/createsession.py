from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from auth_app.selectors import organization_get_by_slug
from gateway.commands import add_json_flag, command_error, write_json
from gateway.exceptions import GatewayError
from sessions_app.management.commands.listsessions import session_data
from sessions_app.models import Engine
from sessions_app.services import session_create


class Command(BaseCommand):
    help = "Create a WhatsApp session (one number) for an organization. Prints its id."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--engine", required=True, choices=Engine.values())
        parser.add_argument("--name", default="", help="a label for the number")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization = organization_get_by_slug(slug=options["org"])
            session = session_create(
                organization=organization, engine=options["engine"], name=options["name"]
            )
        except GatewayError as exc:
            raise command_error(exc) from exc
        if options["json"]:
            write_json(self, session_data(session))
        else:
            self.stdout.write(session.id)

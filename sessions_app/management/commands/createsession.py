from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from auth_app.selectors import organization_get_by_slug
from gateway.commands import command_error
from gateway.exceptions import GatewayError
from sessions_app.models import Engine
from sessions_app.services import session_create


class Command(BaseCommand):
    help = "Create a WhatsApp session (one number) for an organization. Prints its id."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--engine", required=True, choices=Engine.values)
        parser.add_argument("--name", default="", help="a label for the number")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization = organization_get_by_slug(slug=options["org"])
            session = session_create(
                organization=organization, engine=options["engine"], name=options["name"]
            )
        except GatewayError as exc:
            raise command_error(exc) from exc
        self.stdout.write(session.id)

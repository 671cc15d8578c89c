from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from auth_app.services import organization_create
from gateway.commands import add_json_flag, command_error, write_json
from gateway.exceptions import GatewayError


class Command(BaseCommand):
    help = "Create an organization (a tenant). Prints its slug."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug", help="short unique name: lowercase letters, digits, hyphens")
        parser.add_argument("--name", default="", help="display name (default: the slug)")
        parser.add_argument(
            "--external-id",
            default=None,
            help="the organization's id in the frontend's login JWTs (the org claim)",
        )
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization = organization_create(
                slug=options["slug"], name=options["name"], external_id=options["external_id"]
            )
        except GatewayError as exc:
            raise command_error(exc) from exc
        if options["json"]:
            write_json(
                self,
                {
                    "id": organization.pk,
                    "slug": organization.slug,
                    "name": organization.name,
                    "externalId": organization.external_id,
                },
            )
        else:
            self.stdout.write(organization.slug)

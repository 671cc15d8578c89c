from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from auth_app import dev_signing
from auth_app.jwt_config import jwt_config
from auth_app.selectors import organization_get_by_slug
from gateway.commands import add_json_flag, command_error, usage_error, write_json
from gateway.exceptions import GatewayError


class Command(BaseCommand):
    help = (
        "Development only: mint a login JWT for an organization and role, signed with the "
        "gateway's development key (needs GATEWAY_JWT_DEV_SIGNING=1). Prints the token."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--role", required=True, help="e.g. owner, admin, member, viewer")
        parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
        parser.add_argument("--sub", default="dev-user", help="the person's id (sub claim)")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        config = jwt_config()
        if not config.dev_signing:
            raise CommandError(
                "development signing is off: set GATEWAY_JWT_DEV_SIGNING=1 (never in production)"
            )
        if options["ttl"] <= 0:
            raise usage_error("--ttl must be a positive number of seconds")
        try:
            organization = organization_get_by_slug(slug=options["org"])
        except GatewayError as exc:
            raise command_error(exc) from exc
        if not organization.external_id:
            raise CommandError(
                f"organization {organization.slug!r} has no external id for the org claim; "
                "create organizations with --external-id"
            )
        token = dev_signing.mint(
            config=config,
            organization_id=organization.external_id,
            role=options["role"],
            subject=options["sub"],
            ttl_seconds=options["ttl"],
        )
        if not config.capabilities_for(options["role"]):
            self.stderr.write(f"note: role {options['role']!r} maps to no capability")
        if options["json"]:
            write_json(self, {"token": token, "expiresIn": options["ttl"]})
        else:
            self.stdout.write(token)

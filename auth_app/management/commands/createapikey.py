from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from auth_app.capabilities import parse_capabilities
from auth_app.management.commands.listapikeys import key_data
from auth_app.selectors import organization_get_by_slug
from auth_app.services import api_key_issue
from gateway.commands import add_json_flag, command_error, usage_error, write_json
from gateway.exceptions import GatewayError


class Command(BaseCommand):
    help = (
        "Issue an API key for an organization. The key is printed once, alone on the last "
        "line; only its hash is stored, so it cannot be shown again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument(
            "--capabilities",
            required=True,
            help="comma-separated: read, send, manage (e.g. read,send)",
        )
        parser.add_argument("--name", default="", help="what the key is for")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="expire after this many days"
        )
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            capabilities = parse_capabilities(options["capabilities"])
        except ValueError as exc:
            raise usage_error(f"--capabilities: {exc}") from exc
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise usage_error("--expires-in-days must be a positive number of days")
        try:
            organization = organization_get_by_slug(slug=options["org"])
            issued = api_key_issue(
                organization=organization,
                capabilities=capabilities,
                name=options["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except GatewayError as exc:
            raise command_error(exc) from exc
        key = issued.api_key
        if options["json"]:
            write_json(self, {**key_data(key), "key": issued.token})
            return
        caps = ",".join(sorted(c.value for c in key.capabilities))
        expiry = key.expires_at.isoformat() if key.expires_at else "never"
        self.stderr.write(
            f"API key {key.display} for {organization.slug} (capabilities: {caps}; "
            f"expires: {expiry}). Store it now: it is not shown again."
        )
        self.stdout.write(issued.token)

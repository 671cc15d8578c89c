from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from auth_app.capabilities import Capability
from auth_app.models import ApiKey
from gateway.commands import add_json_flag, table, write_json


def key_state(api_key: ApiKey) -> str:
    if api_key.revoked_at is not None:
        return "revoked"
    return "expired" if api_key.is_expired() else "active"


def key_data(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": api_key.pk,
        "name": api_key.name,
        "prefix": api_key.display,
        "organization": api_key.organization.slug,
        "capabilities": [c.value for c in Capability if c in api_key.capabilities],
        "state": key_state(api_key),
        "createdAt": api_key.created_at,
        "expiresAt": api_key.expires_at,
        "lastUsedAt": api_key.last_used_at,
    }


class Command(BaseCommand):
    help = "List API keys (never the keys themselves: only their prefixes)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", help="only this organization's keys (slug)")
        parser.add_argument("--active", action="store_true", help="only keys that work now")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        keys = ApiKey.objects.select_related("organization").order_by("organization__slug", "id")
        if options["org"]:
            keys = keys.filter(organization__slug=options["org"])
        data = [key_data(api_key) for api_key in keys]
        if options["active"]:
            data = [row for row in data if row["state"] == "active"]
        if options["json"]:
            write_json(self, data)
            return
        self.stdout.write(
            table(
                ["ID", "ORGANIZATION", "NAME", "PREFIX", "CAPABILITIES", "STATE", "LAST USED"],
                [
                    [
                        row["id"],
                        row["organization"],
                        row["name"],
                        row["prefix"],
                        ",".join(row["capabilities"]),
                        row["state"],
                        row["lastUsedAt"].isoformat(timespec="seconds")
                        if row["lastUsedAt"]
                        else "never",
                    ]
                    for row in data
                ],
            )
        )

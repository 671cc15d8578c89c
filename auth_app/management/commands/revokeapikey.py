from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from auth_app.management.commands.listapikeys import key_data
from auth_app.models import ApiKey
from auth_app.services import api_key_revoke
from gateway.commands import add_json_flag, write_json


class Command(BaseCommand):
    help = "Revoke an API key, by its id or its prefix (wag_<lookup id>_…). Effective at once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key", help="the key's id (listapikeys) or its prefix")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        ref = options["key"].strip()
        keys = ApiKey.objects.select_related("organization")
        if ref.isdigit():
            api_key = keys.filter(pk=int(ref)).first()
        else:
            lookup_id = ref.removeprefix("wag_").split("_", 1)[0]
            api_key = keys.filter(lookup_id=lookup_id).first()
        if api_key is None:
            raise CommandError(f"no API key {ref!r}")
        already = api_key.revoked_at is not None
        api_key = api_key_revoke(api_key=api_key)
        if options["json"]:
            write_json(self, key_data(api_key))
        elif already:
            self.stdout.write(f"already revoked {api_key.display} ({api_key.organization.slug})")
        else:
            self.stdout.write(f"revoked {api_key.display} ({api_key.organization.slug})")

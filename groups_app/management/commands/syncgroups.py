from argparse import ArgumentParser
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gateway.commands import add_json_flag, write_json
from gateway.exceptions import GatewayError
from groups_app.services import group_sync
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.selectors import session_get_for_operator


class Command(BaseCommand):
    help = (
        "Refresh stored groups from WhatsApp for one session, or every connected session with "
        "--all (needs the runner). Shows progress; exits 1 if any session failed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("session_id", nargs="?", help="the session's id")
        target.add_argument("--all", action="store_true", help="every connected session")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            sessions = list(
                WhatsAppSession.objects.filter(status=SessionStatus.CONNECTED).order_by("id")
            )
        else:
            try:
                sessions = [session_get_for_operator(session_id=options["session_id"])]
            except GatewayError as exc:
                raise CommandError(exc.message) from exc
        failures = 0
        results: list[dict[str, Any]] = []
        stream: Any = self.stderr._out
        # --json is for scripts: the data on stdout, and no bar drawn on stderr.
        progress = tqdm(
            sessions, desc="syncing groups", unit="session", file=stream, disable=options["json"]
        )
        for session in progress:
            try:
                result = group_sync(session=session)
            except GatewayError as exc:
                failures += 1
                results.append({"session": session.id, "ok": False, "error": exc.message})
                progress.write(f"{session.id}: failed — {exc.message}", file=stream)
                continue
            results.append(
                {
                    "session": session.id,
                    "ok": True,
                    "synced": result.stored,
                    "removed": result.removed,
                }
            )
            if not options["json"]:
                progress.write(
                    f"{session.id}: {result.stored} groups, {result.removed} removed",
                    file=cast(TextIO, self.stdout._out),
                )
        progress.close()
        if options["json"]:
            write_json(self, results)
        else:
            self.stdout.write(f"synced {len(sessions) - failures} of {len(sessions)} sessions")
        if failures:
            raise CommandError(f"{failures} session(s) failed")

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from gateway.commands import add_json_flag, table, write_json
from sessions_app.models import SessionLease, SessionStatus, WhatsAppSession


def session_data(session: WhatsAppSession) -> dict[str, Any]:
    lease: SessionLease | None = getattr(session, "lease", None)
    if lease is not None and lease.expires_at <= timezone.now():
        lease = None  # expired: nobody holds it
    return {
        "id": session.id,
        "name": session.name,
        "organization": session.organization.slug,
        "engine": session.engine,
        "status": session.status,
        "statusReason": session.status_reason,
        "jid": session.jid,
        "connectedAt": session.connected_at,
        "lastSeenAt": session.last_seen_at,
        # The runner holding it (by lease), and until when; null when none does.
        "runner": lease.runner_id if lease else None,
        "leaseExpiresAt": lease.expires_at.isoformat() if lease else None,
    }


class Command(BaseCommand):
    help = "List sessions with their connection state."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", help="only this organization's sessions (slug)")
        parser.add_argument("--status", choices=SessionStatus.values(), help="only this status")
        add_json_flag(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        sessions = WhatsAppSession.objects.select_related("organization", "lease").order_by(
            "organization__slug", "created_at"
        )
        if options["org"]:
            sessions = sessions.filter(organization__slug=options["org"])
        if options["status"]:
            sessions = sessions.filter(status=options["status"])
        data = [session_data(session) for session in sessions]
        if options["json"]:
            write_json(self, data)
            return
        self.stdout.write(
            table(
                ["ID", "ORGANIZATION", "NAME", "ENGINE", "STATUS", "JID", "REASON"],
                [
                    [
                        r["id"],
                        r["organization"],
                        r["name"],
                        r["engine"],
                        r["status"],
                        r["jid"],
                        r["statusReason"],
                    ]
                    for r in data
                ],
            )
        )

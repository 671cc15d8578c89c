from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from auth_app.capabilities import ALL_CAPABILITIES
from auth_app.models import Organization
from auth_app.services import api_key_issue, organization_create
from sessions_app.models import Engine
from sessions_app.services import session_create, session_want_connected

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = (
        "First run only: create the 'demo' organization, an API key (printed once) and a "
        "connected sandbox session. Does nothing when the demo organization exists."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if Organization.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write(
                "Demo already seeded. Its API key was shown on the first run; issue another "
                "with: DEBUG=1 .venv/bin/python manage.py createapikey --org demo "
                "--capabilities read,send,manage"
            )
            return
        with transaction.atomic():
            organization = organization_create(slug=DEMO_SLUG, name="Demo", external_id="demo")
            issued = api_key_issue(
                organization=organization, capabilities=ALL_CAPABILITIES, name="demo"
            )
            session = session_create(
                organization=organization, engine=Engine.SANDBOX, name="Demo sandbox"
            )
        # The runner (started beside the web server by `make run`) connects it.
        session = session_want_connected(session=session)
        self.stdout.write(
            "\n".join(
                [
                    "Seeded the demo organization with a sandbox session (the runner connects it).",
                    f"  session: {session.id}",
                    f"  API key (shown once, store it now): {issued.token}",
                    "",
                    "Try it:",
                    f"  export TOKEN={issued.token}",
                    f"  export SESSION={session.id}",
                    "  curl -s -X POST "
                    '"http://127.0.0.1:${PORT:-8000}/api/v1/sessions/$SESSION/groups" \\',
                    '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
                    """    -d '{"name": "Team", "participants": ["15551234567@s.whatsapp.net"]}'""",
                ]
            )
        )

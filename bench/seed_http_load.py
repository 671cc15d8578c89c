"""Seeds the benchmark database: an organization, an owner key, two connected sandbox
sessions — one with 100 stored groups, one with 100,000. Prints JSON on its last line."""

import json

import django

django.setup()

from auth_app.capabilities import ALL_CAPABILITIES  # noqa: E402
from auth_app.services import api_key_issue, organization_create  # noqa: E402
from groups_app.models import Group  # noqa: E402
from sessions_app.models import Engine, WhatsAppSession  # noqa: E402


def session_with_groups(organization, name: str, count: int, prefix: str) -> WhatsAppSession:
    session = WhatsAppSession.objects.create(
        organization=organization, engine=Engine.SANDBOX, name=name, desired_connected=True
    )
    batch = 5000
    for start in range(0, count, batch):
        Group.objects.bulk_create(
            Group(
                session=session,
                jid=f"120363{prefix}{n:09d}@g.us",
                subject=f"Group {n}",
                owner_jid="15550990000@s.whatsapp.net",
                participant_count=5,
            )
            for n in range(start, min(start + batch, count))
        )
    return session


organization = organization_create(slug="bench", external_id="org_bench")
key = api_key_issue(organization=organization, capabilities=ALL_CAPABILITIES).token
small = session_with_groups(organization, "small", 100, "100")
large = session_with_groups(organization, "large", 100_000, "200")
group = Group.objects.filter(session=small).first()
print(
    json.dumps(
        {"key": key, "small_session": small.id, "large_session": large.id, "group": group.jid}
    )
)

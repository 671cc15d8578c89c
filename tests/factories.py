import factory
from django.utils import timezone

from auth_app.models import Organization
from groups_app.models import Group, GroupParticipant
from sessions_app.engines.sandbox import account_jid
from sessions_app.models import Engine, SessionStatus, WhatsAppSession, new_session_id


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    external_id = factory.Sequence(lambda n: f"ext-{n}")


class WhatsAppSessionFactory(factory.django.DjangoModelFactory):
    """A sandbox session, connected unless told otherwise."""

    class Meta:
        model = WhatsAppSession

    id = factory.LazyFunction(new_session_id)
    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"number {n}")
    engine = Engine.SANDBOX
    status = SessionStatus.CONNECTED
    jid = factory.LazyAttribute(lambda s: account_jid(s.id))
    push_name = "Sandbox"
    connected_at = factory.LazyFunction(timezone.now)
    desired_connected = True

    class Params:
        disconnected = factory.Trait(
            status=SessionStatus.DISCONNECTED, status_reason="connection lost"
        )
        fresh = factory.Trait(
            status=SessionStatus.NEW,
            jid="",
            connected_at=None,
            push_name="",
            desired_connected=False,
        )


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    session = factory.SubFactory(WhatsAppSessionFactory)
    jid = factory.Sequence(lambda n: f"120363{n:012d}@g.us")
    subject = factory.Sequence(lambda n: f"Group {n}")
    owner_jid = factory.LazyAttribute(lambda g: g.session.jid)
    participant_count = 1


class GroupParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupParticipant

    group = factory.SubFactory(GroupFactory)
    jid = factory.Sequence(lambda n: f"1555100{n:04d}@s.whatsapp.net")

"""Messages past ``GATEWAY_MESSAGE_RETENTION_DAYS`` go in batches, from the runner's loop."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messages_app.models import Message
from messages_app.retention import prune_messages
from sessions_app.models import SendBudgetUse
from sessions_app.runner.fleet import FleetConfig, FleetMember
from sessions_app.runner.loop import RunnerLoop
from sessions_app.runner.supervisor import Supervisor


def stored(session, n: int, *, age_days: float) -> None:
    for index in range(n):
        message = Message.objects.create(
            session=session,
            chat="15551230001@s.whatsapp.net",
            message_id=f"M{age_days}-{index}",
            sender="15551230001@s.whatsapp.net",
            kind="text",
            text="old" if age_days else "new",
            timestamp=timezone.now(),
        )
        # created_at is set on insert: backdate it as time would.
        Message.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(days=age_days)
        )


@pytest.mark.django_db
def test_older_messages_go_a_batch_at_a_time_and_newer_stay(session, settings):
    settings.GATEWAY_MESSAGE_RETENTION_DAYS = 30
    stored(session, 5, age_days=31)
    stored(session, 3, age_days=29)
    assert prune_messages(batch=2) == 2
    assert prune_messages(batch=2) == 2
    assert prune_messages(batch=2) == 1
    assert prune_messages(batch=2) == 0
    assert set(Message.objects.values_list("text", flat=True)) == {"old"}  # the 29-day ones
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_zero_keeps_messages_for_ever(session, settings):
    settings.GATEWAY_MESSAGE_RETENTION_DAYS = 0
    stored(session, 2, age_days=400)
    assert prune_messages() == 0
    assert Message.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_runner_loop_prunes_messages_and_ended_budget_windows(session, settings):
    settings.GATEWAY_MESSAGE_RETENTION_DAYS = 30
    stored(session, 2, age_days=45)
    stored(session, 1, age_days=1)
    SendBudgetUse.objects.create(
        session_id=session.pk, span="day", starts_at=timezone.now() - timedelta(days=5), used=3
    )
    member = FleetMember(
        FleetConfig("prune-test", "http://127.0.0.1:1", capacity=0, lease_seconds=30)
    )
    supervisor = Supervisor(allow_whatsapp=False, fleet=member)
    try:
        assert RunnerLoop(member=member, supervisor=supervisor).step() is True
    finally:
        supervisor.stop_all(record=False)
    assert Message.objects.count() == 1
    assert not SendBudgetUse.objects.exists()

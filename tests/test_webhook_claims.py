"""A delivery's claim: taken just before its attempt and held for as long as the attempt
can last, never taken twice, and nothing recorded by a worker whose claim another worker
has taken (it expired while the first was busy)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.processes import wait_for
from tests.webhooks_receiver import receiving
from webhooks_app.delivery import Outcome, claim_due, deliver_due, record
from webhooks_app.events import record_event
from webhooks_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(settings):
    settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as state:
        yield state


def queued(org, url: str, count: int) -> list[str]:
    WebhookEndpoint.objects.create(organization=org, url=url, events=["*"], secret="whsec_dGVzdA==")
    for number in range(count):
        record_event(organization_id=org.id, event_type="webhook.test", data={"n": number})
    return list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))


def taken_over(delivery: WebhookDelivery) -> None:
    """Its claim ran out and another worker claimed it."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    (other,) = claim_due(limit=1)
    assert other.pk == delivery.pk


def test_a_lost_claim_is_not_recorded_over_the_new_holders(org, receiver):
    queued(org, receiver.url, 1)
    (mine,) = claim_due(limit=1)
    taken_over(mine)
    assert record([(mine, Outcome(False, 500, "answered HTTP 500"))]) == 0
    row = WebhookDelivery.objects.get(pk=mine.pk)
    assert (row.attempts, row.status, row.last_error) == (0, DeliveryStatus.PENDING, "")
    assert row.locked_until is not None and row.locked_until > timezone.now()  # still held


def test_a_held_claim_is_not_taken_again(org, receiver):
    queued(org, receiver.url, 1)
    (mine,) = claim_due(limit=1)
    assert claim_due(limit=5) == []
    assert WebhookDelivery.objects.get(pk=mine.pk).claim == mine.claim


def test_a_slow_batch_keeps_its_later_claims_and_nothing_arrives_twice(org, receiver, settings):
    """Claims of 2 s, receivers that take 1.5 s each: a claim taken for the whole batch
    up front would run out for the second delivery while the first is being sent, and a
    second worker would take and send it too. Claimed only when a sender takes it, a
    second worker finds nothing due."""
    settings.GATEWAY_WEBHOOK_LOCK_SECONDS = 2
    receiver.delay = 1.5
    queued(org, receiver.url, 2)
    done: list[int] = []

    def first_worker() -> None:
        try:
            done.append(deliver_due(limit=2))
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    started = time.monotonic()
    # Past the batch's original claims (2 s), while the first worker is on its second.
    wait_for(lambda: time.monotonic() - started > 2.3, "the original claims to run out")
    assert deliver_due(limit=2) == 0
    worker.join(timeout=10)
    assert done == [2]
    ids = receiver.ids()
    assert len(ids) == 2 and len(set(ids)) == 2  # each delivery arrived once
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.SUCCEEDED
    }


def test_a_round_sends_each_claimed_delivery_once(org, receiver):
    ids = queued(org, receiver.url, 3)
    assert deliver_due(limit=10) == 3
    assert len(receiver.received) == 3
    assert set(WebhookDelivery.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        DeliveryStatus.SUCCEEDED
    }
    assert deliver_due(limit=10) == 0

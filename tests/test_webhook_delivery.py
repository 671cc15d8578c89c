"""Webhook delivery, round two, against real receivers on loopback: a total deadline per
attempt, one endpoint's slowness kept to its own slots, paused deliveries of disabled
endpoints, outcomes recorded in batches, what happened visible, and the limits."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from gateway.version import VERSION
from tests.factories import OrganizationFactory
from tests.helpers import assert_error
from tests.processes import wait_for
from tests.webhooks_receiver import receiving
from webhooks_app.delivery import DeliveryWorker, Outcome, claim_due, deliver_due, record
from webhooks_app.events import record_event
from webhooks_app.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _private_receivers(settings):
    settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = True


def endpoint_for(org, url: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organization=org, url=url, events=["*"], secret="whsec_dGVzdHNlY3JldA=="
    )


def events(org, count: int) -> None:
    for number in range(count):
        record_event(organization_id=org.pk, event_type="webhook.test", data={"n": number})


@contextmanager
def running(worker: DeliveryWorker, *, interval: float, listen: bool = False) -> Iterator[object]:
    """``worker.run`` on a thread (with its LISTEN thread when ``listen``), stopped after."""
    from webhooks_app.wakeups import Listener

    stopping = threading.Event()
    listener = Listener(worker.wake, stopping).start() if listen else None

    def run() -> None:
        try:
            worker.run(stopping=stopping, interval=interval)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield listener
    finally:
        stopping.set()
        worker.wake.set()
        thread.join(timeout=30)
        worker.close(database=False)


def register(api, url: str):
    return api.post("/api/v1/webhooks", {"url": url, "events": ["*"]}, format="json")


def test_a_trickling_receiver_is_cut_off_at_the_attempts_deadline(org, settings):
    """Status and headers at once, then a byte every 0.2 s for ever: a timeout per read
    never fires; the attempt's total deadline (1 s here) does."""
    settings.GATEWAY_WEBHOOK_TIMEOUT_SECONDS = 1
    with receiving() as slow:
        slow.trickle = 0.2
        endpoint_for(org, slow.url)
        events(org, 1)
        assert deliver_due(limit=5) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_error == "no complete answer within 1 s"
    (attempt,) = WebhookAttempt.objects.all()
    assert 1000 <= attempt.duration_ms < 2000
    assert attempt.error == delivery.last_error


def test_one_organizations_slow_receiver_does_not_hold_anothers_events(org, settings):
    """Organization A's receiver trickles (each attempt takes its whole 10 s deadline)
    and A has 20 events queued; organization B's event, committed afterwards, arrives
    within a second. A never has more than 4 attempts in flight."""
    settings.GATEWAY_WEBHOOK_TIMEOUT_SECONDS = 10
    other = OrganizationFactory()
    with receiving() as slow, receiving() as fast:
        slow.trickle = 1.0
        endpoint_for(org, slow.url)
        endpoint_for(other, fast.url)
        events(org, 20)
        with running(DeliveryWorker(senders=8), interval=0.1):
            wait_for(lambda: slow.answering == 4, "A's receiver to be holding 4 attempts")
            committed = time.monotonic()
            record_event(organization_id=other.pk, event_type="webhook.test", data={"b": 1})
            wait_for(lambda: len(fast.received) == 1, "B's event", timeout=5)
            waited = time.monotonic() - committed
            assert waited < 1.0, f"B's event waited {waited:.2f} s"
            assert slow.most_answering == 4


def test_a_disabled_endpoint_gets_nothing_and_its_deliveries_wait_paused(api, receiver_url):
    made = register(api, receiver_url.url).json()
    events(WebhookEndpoint.objects.get().organization, 3)
    patched = api.patch(f"/api/v1/webhooks/{made['id']}", {"enabled": False}, format="json")
    assert patched.status_code == 200
    assert deliver_due(limit=10) == 0
    assert receiver_url.received == []
    listed = api.get(f"/api/v1/webhooks/{made['id']}/deliveries").json()["results"]
    assert {row["status"] for row in listed} == {"paused"}
    assert {row["nextAttemptAt"] for row in listed} == {None}
    # A test event is refused, not queued, while it is disabled.
    error = assert_error(api.post(f"/api/v1/webhooks/{made['id']}/test"), 409, "conflict")
    assert error["details"]["reason"] == "endpoint_disabled"
    assert WebhookDelivery.objects.count() == 3

    api.patch(f"/api/v1/webhooks/{made['id']}", {"enabled": True}, format="json")
    assert deliver_due(limit=10) == 3
    assert len(receiver_url.received) == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_410_disables_the_endpoint_and_pauses_the_rest(org, receiver_url):
    endpoint_for(org, receiver_url.url)
    events(org, 3)
    receiver_url.script = [410]
    (first,) = claim_due(limit=1)
    record([(first, Outcome(False, 410, "answered HTTP 410"))])
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == ["dead", "paused", "paused"]


def test_outcomes_are_recorded_in_one_statement_per_batch(org, receiver_url, settings):
    settings.GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY = 100
    endpoint_for(org, receiver_url.url)
    events(org, 42)
    small = claim_due(limit=2)
    large = claim_due(limit=40)
    assert len(small) == 2 and len(large) == 40
    ok = Outcome(True, 200, "")
    with CaptureQueriesContext(connection) as two:
        assert record([(delivery, ok) for delivery in small]) == 2
    with CaptureQueriesContext(connection) as forty:
        assert record([(delivery, ok) for delivery in large]) == 40
    assert len(forty) == len(two)
    assert WebhookAttempt.objects.count() == 42


def test_what_happened_is_visible_attempt_by_attempt(api, receiver_url):
    made = register(api, receiver_url.url).json()
    receiver_url.script = [500]
    api.post(f"/api/v1/webhooks/{made['id']}/test")
    assert deliver_due(limit=5) == 1
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    assert deliver_due(limit=5) == 1
    delivery = WebhookDelivery.objects.get()
    answer = api.get(f"/api/v1/webhooks/{made['id']}/deliveries/{delivery.id}")
    assert answer.status_code == 200, answer.content
    shown = answer.json()
    assert shown["status"] == "succeeded" and shown["nextAttemptAt"] is None
    assert [a["statusCode"] for a in shown["attemptLog"]] == [500, 200]
    assert shown["attemptLog"][0]["error"] == "answered HTTP 500"
    assert shown["attemptLog"][1]["responseBody"] == "ok"
    assert shown["body"]["type"] == "webhook.test" and shown["body"]["id"] == delivery.event_id
    headers, _body = receiver_url.received[0]
    assert headers["user-agent"] == f"whatsapp-gateway/{VERSION} (+webhooks)"
    assert_error(api.get(f"/api/v1/webhooks/{made['id']}/deliveries/dlv_nope"), 404, "not_found")


def test_an_organization_has_at_most_its_endpoints(api, receiver_url, settings):
    settings.GATEWAY_WEBHOOK_MAX_ENDPOINTS = 2
    assert register(api, receiver_url.url).status_code == 201
    assert register(api, receiver_url.url).status_code == 201
    error = assert_error(register(api, receiver_url.url), 409, "conflict")
    assert error["details"] == {"reason": "too_many_endpoints", "max": 2}
    assert WebhookEndpoint.objects.count() == 2


def test_the_version_is_the_projects():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert project["project"]["version"] == VERSION


@pytest.fixture
def receiver_url():
    with receiving() as state:
        yield state


def test_history_past_its_retention_goes_a_batch_at_a_time(org, settings, receiver_url):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks_app.models import WebhookEvent
    from webhooks_app.retention import prune_history

    settings.GATEWAY_WEBHOOK_RETENTION_DAYS = 30
    endpoint_for(org, receiver_url.url)
    events(org, 6)
    old = timezone.now() - timedelta(days=31)
    ids = list(WebhookEvent.objects.order_by("created_at").values_list("id", flat=True))
    WebhookEvent.objects.filter(id__in=ids[:5]).update(created_at=old)
    statuses = ["succeeded", "dead", "paused", "succeeded", "retrying"]
    for event_id, status in zip(ids[:5], statuses, strict=True):
        WebhookDelivery.objects.filter(event_id=event_id).update(status=status)
    assert prune_history(batch=2) == 2
    assert prune_history(batch=2) == 2  # the settled and paused old ones, two at a time
    assert prune_history(batch=2) == 0
    # Kept: the old one still to be sent, and the recent one.
    assert set(WebhookEvent.objects.values_list("id", flat=True)) == {ids[4], ids[5]}
    assert WebhookDelivery.objects.count() == 2


def test_every_event_type_has_its_body_in_the_schema():
    from webhooks_app.events import EVENT_TYPES
    from webhooks_app.schema import DATA

    assert set(DATA) == set(EVENT_TYPES)


def test_on_postgresql_a_committed_event_wakes_an_idle_worker_at_once(org, receiver_url):
    """The worker polls only every 30 s here: the event's commit (NOTIFY) wakes it."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the poll interval is the bound")
    endpoint_for(org, receiver_url.url)
    with running(DeliveryWorker(senders=4), interval=30, listen=True) as listener:
        wait_for(listener.listening.is_set, "the worker to listen")
        time.sleep(0.5)  # idle: its first look found nothing; the next poll is 30 s away
        committed = time.monotonic()
        events(org, 1)
        wait_for(lambda: len(receiver_url.received) == 1, "the event", timeout=10)
        assert time.monotonic() - committed < 2.0


def _on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("slots shared across workers are PostgreSQL advisory locks")


def test_on_postgresql_two_workers_together_hold_an_endpoints_slots_at_most(org, settings):
    """Two workers, each of which would send 4 at once to a slow endpoint on its own,
    together have 4 attempts in flight, not 8; the worker without a slot gives its
    claims back, and every delivery is still attempted, once."""
    _on_postgresql()
    settings.GATEWAY_WEBHOOK_TIMEOUT_SECONDS = 3
    with receiving() as slow:
        slow.trickle = 0.2
        endpoint_for(org, slow.url)
        events(org, 8)
        first, second = DeliveryWorker(senders=8), DeliveryWorker(senders=8)
        with running(first, interval=0.1), running(second, interval=0.1):
            wait_for(lambda: slow.answering == 4, "4 attempts in flight")
            time.sleep(1.0)  # well within the 3 s deadline: nothing has ended yet
            assert (slow.most_answering, len(slow.received)) == (4, 4)
            assert first.in_flight() + second.in_flight() == 4
            wait_for(lambda: len(slow.received) == 8, "the other 4, after the deadline")
            time.sleep(0.5)
        assert len(set(slow.ids())) == 8
    assert WebhookDelivery.objects.filter(attempts=1).count() == 8


def test_on_postgresql_a_lost_connection_gives_its_slots_back():
    """What a worker killed with -9 leaves: its connection closes, and PostgreSQL
    releases the slots its senders held."""
    _on_postgresql()
    from webhooks_app import endpoint_slots

    held: list[int | None] = []
    taken = threading.Barrier(3, timeout=10)
    finish = threading.Event()

    def holder() -> None:  # a sender: its own connection, one slot per turn
        held.append(endpoint_slots.take("ep_x", slots=2))
        taken.wait()
        finish.wait(10)
        connection.close()  # as a killed process's connection ends

    threads = [threading.Thread(target=holder) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        taken.wait()
        assert None not in held and len(set(held)) == 2
        assert endpoint_slots.take("ep_x", slots=2) is None
        other = endpoint_slots.take("ep_y", slots=2)  # another endpoint has its own
        assert other is not None
        endpoint_slots.give_back(other)
    finally:
        finish.set()
        for thread in threads:
            thread.join(10)
    key = endpoint_slots.take("ep_x", slots=2)
    assert key is not None
    endpoint_slots.give_back(key)

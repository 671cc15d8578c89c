"""Webhooks end to end: a real receiver on loopback, signatures checked with the
Standard Webhooks reference library (``standardwebhooks``), retries, 410, rotation,
replay, rollback, and a delivery worker killed with -9."""

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from sessions_app.models import SessionStatus
from sessions_app.transitions import session_record_status
from tests.factories import WhatsAppSessionFactory
from tests.helpers import assert_error
from tests.processes import ROOT, process_env, wait_for
from tests.webhooks_receiver import receiving
from webhooks_app.delivery import deliver_due
from webhooks_app.events import EVENT_TYPES, record_event
from webhooks_app.models import DeliveryStatus, WebhookDelivery, WebhookEvent

ALICE = "15551230001@s.whatsapp.net"


@pytest.fixture
def receiver(settings):
    settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as state:
        yield state


def register(api, url: str, events=("*",)) -> dict:
    response = api.post("/api/v1/webhooks", {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict:
    """The body, verified by the reference implementation (raises if the signature is bad)."""
    return Webhook(secret).verify(body, headers)


def event_body_validator():
    """Validates a delivered body against the OpenAPI document's ``WebhookEvent``."""
    import jsonschema
    from drf_spectacular.generators import SchemaGenerator

    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))

    def as_json_schema(node):
        if isinstance(node, dict):
            node = {key: as_json_schema(value) for key, value in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            return node
        if isinstance(node, list):
            return [as_json_schema(item) for item in node]
        return node

    components = as_json_schema(document["components"])
    schema = {"$ref": "#/components/schemas/WebhookEvent", "components": components}
    validator = jsonschema.Draft202012Validator(schema)
    return validator.validate


def drain() -> None:
    while deliver_due(limit=50):
        pass


def make_due() -> None:
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
class TestEndpoints:
    def test_the_secret_is_shown_once(self, api, receiver):
        made = register(api, receiver.url)
        assert made["secret"].startswith("whsec_")
        shown = api.get(f"/api/v1/webhooks/{made['id']}").json()
        assert "secret" not in shown and made["secret"] not in json.dumps(shown)
        listed = api.get("/api/v1/webhooks").json()["results"]
        assert [row["id"] for row in listed] == [made["id"]]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "ftp://x.example/hook", "events": ["*"]}, "url"),
            ({"url": "http://127.0.0.1:9/hook", "events": ["*"]}, "url"),  # loopback
            ({"url": "http://10.0.0.7/hook", "events": ["*"]}, "url"),  # private
            ({"url": "http://169.254.169.254/latest", "events": ["*"]}, "url"),  # metadata
            ({"url": "http://example.com:99999/", "events": ["*"]}, "url"),  # bad port
            ({"url": "http://[::1/", "events": ["*"]}, "url"),  # unclosed bracket
            # IPv4 inside IPv6: NAT64, 6to4 and mapped loopback; IETF's 192.0.0.0/24
            ({"url": "http://[64:ff9b::7f00:1]/", "events": ["*"]}, "url"),
            ({"url": "http://[2002:7f00:1::]/", "events": ["*"]}, "url"),
            ({"url": "http://[::ffff:127.0.0.1]/", "events": ["*"]}, "url"),
            ({"url": "http://192.0.0.8/", "events": ["*"]}, "url"),
            ({"url": "https://example.com/hook", "events": ["nope"]}, "events"),
            ({"url": "https://example.com/hook", "events": []}, "events"),
            ({"url": "https://example.com/hook"}, "events"),
        ],
    )
    def test_refused_input_is_400(self, api, settings, body, field):
        settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = False
        error = assert_error(
            api.post("/api/v1/webhooks", body, format="json"), 400, "validation_error"
        )
        assert field in error["details"]

    def test_an_unknown_event_names_every_valid_one(self, api):
        body = {"url": "https://example.com/hook", "events": ["group.created", "group.create"]}
        error = assert_error(
            api.post("/api/v1/webhooks", body, format="json"), 400, "validation_error"
        )
        (message,) = error["details"]["events"]["1"]
        assert message.startswith('"group.create" is not an event type; one of: *, ')
        for name in EVENT_TYPES:
            assert name in message

    def test_manage_is_required_and_other_tenants_see_404(
        self, api, client_for, org, other_org, receiver
    ):
        made = register(api, receiver.url)
        reader = client_for(org, "read,send")
        assert_error(reader.get("/api/v1/webhooks"), 403, "forbidden")
        theirs = client_for(other_org)
        assert_error(theirs.get(f"/api/v1/webhooks/{made['id']}"), 404, "not_found")
        assert_error(theirs.delete(f"/api/v1/webhooks/{made['id']}"), 404, "not_found")

    def test_update_and_delete(self, api, receiver):
        made = register(api, receiver.url)
        url = f"/api/v1/webhooks/{made['id']}"
        changed = api.patch(url, {"events": ["group.created"], "enabled": False}, format="json")
        assert changed.json()["events"] == ["group.created"] and changed.json()["enabled"] is False
        assert api.delete(url).status_code == 204
        assert_error(api.get(url), 404, "not_found")


@pytest.mark.django_db
class TestEvents:
    def test_every_event_type_arrives_signed(self, api, session, receiver):
        secret = register(api, receiver.url)["secret"]
        groups = f"/api/v1/sessions/{session.id}/groups"
        jid = api.post(groups, {"name": "Team", "participants": [ALICE]}, format="json").json()[
            "groupJid"
        ]
        api.patch(f"{groups}/{jid}", {"description": "Ours"}, format="json")
        api.post(
            f"{groups}/{jid}/participants",
            {"action": "promote", "participants": [ALICE]},
            format="json",
        )
        code = api.get(f"{groups}/{jid}/invite").json()["code"]
        other = WhatsAppSessionFactory(organization=session.organization)
        api.post(f"/api/v1/sessions/{other.id}/groups/join", {"code": code}, format="json")
        api.post(f"{groups}/{jid}/leave")
        session_record_status(session_id=session.id, status=SessionStatus.DISCONNECTED, reason="x")
        endpoint_id = api.get("/api/v1/webhooks").json()["results"][0]["id"]
        api.post(f"/api/v1/webhooks/{endpoint_id}/test")
        drain()

        bodies = [verified(secret, headers, body) for headers, body in receiver.received]
        types = [body["type"] for body in bodies]
        assert set(types) == {
            "group.created",
            "group.updated",
            "group.participants",
            "group.joined",
            "group.left",
            "session.status",
            "webhook.test",
        }
        updated = next(body for body in bodies if body["type"] == "group.updated")
        assert updated["data"]["changed"] == ["description"]
        assert updated["data"]["description"] == "Ours"
        participants = next(body for body in bodies if body["type"] == "group.participants")
        assert participants["data"] == {
            "groupJid": jid,
            "action": "promote",
            "participants": [ALICE],
        }
        # Per-session sequence numbers order the session's events: deliveries go out
        # concurrently and may arrive in any order, the numbers have no gap or repeat.
        ours = sorted(body["sequence"] for body in bodies if body["session"] == session.id)
        assert ours == list(range(ours[0], ours[0] + len(ours)))
        for _headers, body in receiver.received:
            assert "wag_" not in body.decode() and secret not in body.decode()
        # Each body is what the OpenAPI document says its type's body is.
        check = event_body_validator()
        for body in bodies:
            check(body)

    def test_a_change_that_rolls_back_sends_nothing(self, api, org, receiver):
        register(api, receiver.url)
        before = WebhookEvent.objects.count()
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(organization_id=org.pk, event_type="webhook.test", data={})
            raise RuntimeError("the change failed")
        assert WebhookEvent.objects.count() == before
        drain()
        assert receiver.received == []

    def test_no_endpoint_no_event(self, org):
        assert record_event(organization_id=org.pk, event_type="webhook.test", data={}) is None
        assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
class TestDelivery:
    def test_500_twice_then_200_is_three_attempts_with_one_id(self, api, receiver):
        made = register(api, receiver.url)
        receiver.script = [500, 500]
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        for _ in range(3):
            make_due()
            drain()
        assert len(receiver.received) == 3
        assert len(set(receiver.ids())) == 1
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
        listed = api.get(f"/api/v1/webhooks/{made['id']}/deliveries").json()["results"]
        assert listed[0]["status"] == "succeeded" and listed[0]["attempts"] == 3

    def test_a_failure_is_retried_later_not_at_once(self, api, receiver):
        made = register(api, receiver.url)
        receiver.script = [503]
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        drain()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.RETRYING
        assert 4 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 6
        assert delivery.last_status_code == 503

    def test_410_disables_the_endpoint(self, api, receiver):
        made = register(api, receiver.url)
        receiver.script = [410]
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        drain()
        assert WebhookDelivery.objects.get().status == DeliveryStatus.DEAD
        endpoint = api.get(f"/api/v1/webhooks/{made['id']}").json()
        assert endpoint["enabled"] is False and "410" in endpoint["disabledReason"]

    def test_rotation_signs_with_both_secrets(self, api, receiver):
        made = register(api, receiver.url)
        rotated = api.post(f"/api/v1/webhooks/{made['id']}/rotate-secret").json()
        assert rotated["secret"] != made["secret"]
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        drain()
        ((headers, body),) = receiver.received
        assert len(headers["webhook-signature"].split(" ")) == 2
        verified(made["secret"], headers, body)
        verified(rotated["secret"], headers, body)

    def test_retry_sends_again_even_after_success(self, api, receiver):
        made = register(api, receiver.url)
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        drain()
        delivery = WebhookDelivery.objects.get()
        retried = api.post(f"/api/v1/webhooks/{made['id']}/deliveries/{delivery.id}/retry")
        assert retried.status_code == 202
        drain()
        assert receiver.ids() == [delivery.event_id, delivery.event_id]

    def test_a_receiver_that_became_private_is_refused_at_delivery(self, api, receiver, settings):
        made = register(api, receiver.url)
        api.post(f"/api/v1/webhooks/{made['id']}/test")
        settings.GATEWAY_WEBHOOK_ALLOW_PRIVATE = False
        drain()
        assert receiver.received == []
        assert "refused address" in WebhookDelivery.objects.get().last_error


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing(api, org, receiver, tmp_path):
    made = register(api, receiver.url)
    events = 30
    for n in range(events):
        record_event(organization_id=org.pk, event_type="webhook.test", data={"n": n})
    receiver.delay = 0.2  # slow enough to be killed mid-delivery
    env = process_env(GATEWAY_WEBHOOK_ALLOW_PRIVATE="1", GATEWAY_WEBHOOK_LOCK_SECONDS="2")
    command = [
        sys.executable,
        "manage.py",
        "deliverwebhooks",
        "--senders",
        "5",
        "--interval",
        "0.2",
    ]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: len(receiver.received) >= 3, "some deliveries", timeout=30)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    receiver.delay = 0
    restarted = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists(),
            "every delivery to succeed",
            timeout=60,
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=10)
    ids = receiver.ids()
    assert set(ids) == set(WebhookEvent.objects.values_list("id", flat=True))
    # A delivery sent again (its claim expired with the killed worker) carries the same
    # webhook-id: the event's, on every attempt.
    for headers, body in receiver.received:
        assert headers["webhook-id"] == json.loads(body)["id"]
    duplicates = len(ids) - len(set(ids))
    assert duplicates <= 5  # at most the killed worker's claimed batch came twice
    assert made["id"]


@pytest.mark.django_db(transaction=True)
def test_three_workers_deliver_each_event_once(api, org, receiver, tmp_path):
    from tests.processes import database_url

    if not database_url().startswith("postgres"):
        pytest.skip("several delivery workers run on PostgreSQL (DATABASE_URL=postgres://…)")
    register(api, receiver.url)
    events = 2000
    with transaction.atomic():
        for n in range(events):
            record_event(organization_id=org.pk, event_type="webhook.test", data={"n": n})
    env = process_env(GATEWAY_WEBHOOK_ALLOW_PRIVATE="1")
    command = [
        sys.executable,
        "manage.py",
        "deliverwebhooks",
        "--senders",
        "20",
        "--interval",
        "0.2",
    ]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(3)
    ]
    try:
        wait_for(lambda: len(receiver.received) >= events, "every event", timeout=120)
        wait_for(
            lambda: not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists(),
            "every delivery recorded",
            timeout=30,
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=10)
    ids = receiver.ids()
    assert len(ids) == events and len(set(ids)) == events  # exactly once


@pytest.mark.django_db
def test_a_sync_announces_groups_joined_and_left(api, session, receiver):
    from groups_app.store import group_store_synced
    from sessions_app.engines.types import GroupInfo
    from tests.factories import GroupFactory

    secret = register(api, receiver.url, events=("group.joined", "group.left"))["secret"]
    stale = GroupFactory(session=session)
    type(stale).objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    new = GroupInfo(jid="120363777777777777@g.us", subject="New", owner_jid=session.jid)
    group_store_synced(
        session_id=session.id, infos=[new], complete=True, fetch_started=timezone.now()
    )
    drain()
    bodies = [verified(secret, headers, body) for headers, body in receiver.received]
    assert {(b["type"], b["data"]["groupJid"]) for b in bodies} == {
        ("group.joined", new.jid),
        ("group.left", stale.jid),
    }

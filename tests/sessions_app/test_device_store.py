"""Where device keys are found and forgotten: exact device JIDs, and a store that fails
fails its session only."""

import pytest
from django.db import connection

from sessions_app import device_store
from sessions_app.device_store import DeviceStoreError
from sessions_app.engines.whatsapp_mapping import device_jid_text, jid_from_text
from sessions_app.models import Engine, SessionStatus
from sessions_app.runner.supervisor import Supervisor
from tests.factories import WhatsAppSessionFactory
from tests.processes import database_url

CURRENT = "15550001111:12@s.whatsapp.net"
STALE = "15550001111:7@s.whatsapp.net"  # an earlier pairing of the same number

postgres_only = pytest.mark.skipif(
    not database_url().startswith("postgres"),
    reason="a shared device store is PostgreSQL (DATABASE_URL=postgres://…)",
)


def test_the_device_part_survives_the_round_trip():
    proto = jid_from_text(CURRENT)
    assert (proto.User, proto.Device, proto.Server) == ("15550001111", 12, "s.whatsapp.net")
    assert device_jid_text(proto) == CURRENT
    assert device_jid_text(jid_from_text("15550001111@s.whatsapp.net")) == (
        "15550001111@s.whatsapp.net"
    )


@pytest.fixture
def shared_store(settings, transactional_db):
    """whatsmeow's device table in the test database, used as the shared store."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS whatsmeow_device (jid TEXT PRIMARY KEY, push_name TEXT)"
        )
        cursor.execute(
            "INSERT INTO whatsmeow_device VALUES (%s, %s), (%s, %s)",
            [CURRENT, "Smith, John", STALE, "Old, Device"],
        )
    settings.GATEWAY_DEVICE_STORE = database_url()
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE whatsmeow_device")


@postgres_only
@pytest.mark.usefixtures("shared_store")
def test_a_shared_store_device_is_matched_exactly():
    # Push names with commas are fine: the row's jid column is read, not neonize's listing.
    assert device_store.stored_device("s1", CURRENT) == CURRENT
    assert device_store.stored_device("s1", STALE) == STALE
    # Never by number alone: a device the store does not hold means a new pairing.
    assert device_store.stored_device("s1", "15550001111:9@s.whatsapp.net") == ""
    assert device_store.stored_device("s1", "") == ""


@postgres_only
@pytest.mark.usefixtures("shared_store")
def test_deleting_a_session_deletes_its_device_rows_only():
    device_store.remove("s1", device_jid=CURRENT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT jid FROM whatsmeow_device")
        assert [row[0] for row in cursor.fetchall()] == [STALE]


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_shared_store_fails_that_session_only(settings):
    settings.GATEWAY_DEVICE_STORE = "postgres://nobody@127.0.0.1:1/nowhere"
    broken = WhatsAppSessionFactory(engine=Engine.WHATSAPP, desired_connected=True)
    broken.device_jid = CURRENT
    broken.save()
    sandbox = WhatsAppSessionFactory(fresh=True, desired_connected=True)
    with pytest.raises(DeviceStoreError):
        device_store.stored_device(broken.id, CURRENT)

    supervisor = Supervisor(clock=lambda: 1000.0)
    try:
        supervisor.reconcile()  # starts both; the broken store must not stop the runner
        broken.refresh_from_db()
        sandbox.refresh_from_db()
        assert broken.status == SessionStatus.DISCONNECTED
        assert broken.status_reason.startswith("device store:")
        assert supervisor.retry_at(broken.id) == 1002.0  # retried with backoff
        assert sandbox.status == SessionStatus.CONNECTED
        assert supervisor.live_ids() == {sandbox.id}
    finally:
        supervisor.stop_all(record=False)

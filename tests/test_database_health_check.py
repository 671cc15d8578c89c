"""A reused PostgreSQL connection is checked once per request by looking at its socket
(``gateway/postgresql``): a connection the server let go is replaced before the request
uses it, and a healthy one costs no round trip."""

from typing import Any

import pytest
import requests
from django.db import connection, connections

from tests.factories import GroupFactory, WhatsAppSessionFactory
from tests.processes import process_env, wait_for
from tests.test_servers import GUNICORN, serving

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the health check is PostgreSQL's (DATABASE_URL=postgres://…)")


@pytest.fixture
def other() -> Any:
    """A second connection to the test database, as a web process holds one."""
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def backend_pid(wrapper: Any) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_query_of(pid: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row[0] if row else None


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for(lambda: last_query_of(pid) is None, "the backend to end")


def next_request(wrapper: Any) -> None:
    """What Django does between two requests, then before the next one's first query."""
    wrapper.close_if_unusable_or_obsolete()
    wrapper.close_if_health_check_failed()


def test_a_healthy_connection_is_kept_without_a_round_trip(other):
    pid = backend_pid(other)
    with other.cursor() as cursor:
        cursor.execute("SELECT 'the last thing asked'")
    kept = other.connection

    next_request(other)

    assert other.connection is kept
    assert last_query_of(pid) == "SELECT 'the last thing asked'"  # no SELECT 1 was sent


def test_a_connection_the_server_ended_is_replaced_before_use(other):
    pid = backend_pid(other)
    terminate(pid)

    next_request(other)

    assert other.connection is None
    assert backend_pid(other) != pid


def test_something_waiting_on_the_socket_is_checked_by_asking(other):
    pid = backend_pid(other)
    with other.cursor() as cursor:
        cursor.execute("LISTEN gateway_health_check")
    with connection.cursor() as cursor:
        cursor.execute("NOTIFY gateway_health_check")
    kept = other.connection
    wait_for(lambda: bool(_readable(kept)), "the notification to arrive")

    next_request(other)

    assert other.connection is kept  # asked, and the server answered
    assert last_query_of(pid) == "SELECT 1"


def _readable(psycopg_connection: Any) -> bool:
    import select

    ready, _, _ = select.select([psycopg_connection.pgconn.socket], [], [], 0)
    return bool(ready)


def test_a_web_process_serves_the_request_after_its_connection_was_ended(
    org, issue_token, tmp_path
):
    session = WhatsAppSessionFactory(organization=org)
    group = GroupFactory(session=session)
    headers = {"Authorization": f"Bearer {issue_token(org, 'read')}"}
    env = process_env(
        ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", GATEWAY_RATE_LIMIT_READ="off"
    )
    with serving(GUNICORN, env, tmp_path / "web.log") as url:
        list_url = f"{url}/api/v1/sessions/{session.id}/groups"
        assert requests.get(list_url, headers=headers, timeout=10).status_code == 200
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            web_pids = [row[0] for row in cursor.fetchall()]
        assert web_pids  # the web process keeps its connection between requests
        for pid in web_pids:
            terminate(pid)

        response = requests.get(list_url, headers=headers, timeout=10)

        assert response.status_code == 200, response.text
        assert [g["groupJid"] for g in response.json()["results"]] == [group.jid]

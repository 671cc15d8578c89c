"""Django's PostgreSQL backend, with a persistent connection's health check done by
looking at its socket instead of asking the server.

With ``CONN_HEALTH_CHECKS`` Django checks a reused connection once per request, before
its first query, with ``SELECT 1``: a database round trip on every request that touches
the database, which on a busy read path is as much as the request's own query.

An idle PostgreSQL connection receives nothing from the server unless the server is
letting it go: a restart or shutdown, ``pg_terminate_backend``, an idle-session timeout
and a killed backend process all end with an error message and/or end of file on the
socket. So a connection whose socket has nothing to read is as usable as ``SELECT 1``
would have said a moment earlier, and one whose socket has something to read is asked
the usual way (``SELECT 1``; a TLS session ticket or a notice costs that round trip and
no more). A server that vanished without a word (a host lost mid-flight) is not seen by
either check until the next query fails, and only its request.

Everything else is Django's backend, unchanged. Connections that saw an error are still
checked with ``SELECT 1`` (``is_usable``) before being reused.
"""

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper
from psycopg import pq

from gateway.sockets import has_input


class DatabaseWrapper(PostgresDatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            or not self.health_check_enabled  # type: ignore[attr-defined]
            or self.health_check_done  # type: ignore[has-type]
            or self.pool
        ):
            super().close_if_health_check_failed()
            return
        if not self._quietly_open() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _quietly_open(self) -> bool:
        """True when the connection is open and nothing has arrived on its socket."""
        connection = self.connection
        if connection is None or connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
            return False
        return not has_input(connection.pgconn.socket)

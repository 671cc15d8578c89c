"""One check shared by every kept connection (database, runners)."""

import select
import socket


def has_input(sock: socket.socket | int) -> bool:
    """Whether anything — data, end of file, an error — waits on an idle connection's
    socket. A peer that closed the connection, or died, leaves end of file there; on a
    healthy idle connection nothing arrives. Costs one poll, no round trip."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))

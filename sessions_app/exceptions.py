from gateway.exceptions import NotConnected, NotFound


class SessionNotFound(NotFound):
    default_message = "session not found"


class SessionNotConnected(NotConnected):
    default_message = "session is not connected"

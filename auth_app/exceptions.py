from rest_framework import exceptions


class InvalidToken(exceptions.AuthenticationFailed):
    """A bearer token was given but cannot be accepted (message says why, never the token)."""

"""Domain errors: what services raise. They know nothing of HTTP.

Each error names a stable ``code`` from the API contract; ``gateway.errors`` is the
one place that turns a code into an HTTP status and the error envelope.
"""

from typing import Any


class GatewayError(Exception):
    code = "internal_error"
    default_message = "internal error"
    # Seconds after which a retry may succeed (sent as Retry-After), when known.
    retry_after: int | None = None

    def __init__(
        self, message: str | None = None, *, details: dict[str, Any] | None = None
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class NotFound(GatewayError):
    code = "not_found"
    default_message = "not found"


class InvalidInput(GatewayError):
    """Input that passed the request's shape checks but breaks a domain rule.

    ``details`` maps each offending field to a list of messages, like a serializer's errors.
    """

    code = "validation_error"
    default_message = "request body is invalid"


class Conflict(GatewayError):
    code = "conflict"
    default_message = "the resource is not in a state for this action"


class NotConnected(GatewayError):
    code = "not_implemented"
    default_message = "session is not connected"


class NotOffered(GatewayError):
    """The session's engine has no such operation (the sandbox, say, for one only real
    WhatsApp has): the API's 501, as for a session that is not connected."""

    code = "not_implemented"
    default_message = "this session's engine does not offer this action"


class WhatsAppFailed(GatewayError):
    code = "whatsapp_error"
    default_message = "WhatsApp refused or failed the action"


class WhatsAppRateLimited(GatewayError):
    code = "rate_limited"
    default_message = "WhatsApp rate limit reached; retry later"


class OverBudget(GatewayError):
    """The organization used its share of the gateway (``sessions_app.live_limits``)."""

    code = "rate_limited"
    default_message = "too many live calls at once for this organization; retry shortly"

    def __init__(self, message: str, *, budget: str | dict[str, Any], retry_after: int) -> None:
        super().__init__(message, details={"budget": budget, "retryAfter": retry_after})
        self.retry_after = retry_after


class WhatsAppTimedOut(GatewayError):
    code = "whatsapp_timeout"
    default_message = "WhatsApp did not answer in time; the outcome is unknown"


class RunnerUnavailable(GatewayError):
    code = "runner_unavailable"
    default_message = "the session runner cannot be reached"


class PayloadTooLarge(GatewayError):
    code = "payload_too_large"
    default_message = "request body is too large"


class NotHeldHere(GatewayError):
    """A runner was asked about a session another runner holds (or nobody does and it
    cannot take it): the caller asks the current holder instead. Never an API answer."""

    code = "not_held"
    default_message = "this runner does not hold the session"


class RemoteError(GatewayError):
    """An error the session runner answered with, carried over unchanged."""

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        self.code = code
        super().__init__(message, details=details)


_BY_CODE: dict[str, type[GatewayError]] = {
    error.code: error
    for error in (
        NotFound,
        InvalidInput,
        Conflict,
        NotConnected,
        WhatsAppFailed,
        WhatsAppRateLimited,
        WhatsAppTimedOut,
        RunnerUnavailable,
    )
}


def error_for_code(
    code: str, message: str, *, details: dict[str, Any] | None = None
) -> GatewayError:
    """The domain error for a code another process answered with (a RemoteError for one
    this process has no class for)."""
    error_class = _BY_CODE.get(code)
    if error_class is None:
        return RemoteError(code, message, details=details)
    return error_class(message, details=details)

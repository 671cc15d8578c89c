"""Who is calling: the result of resolving a bearer token."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auth_app.capabilities import Capability
from auth_app.models import Organization


class TokenKind(StrEnum):
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True)
class Principal:
    """What views see as ``request.user``: an organization and what the caller may do."""

    organization: Organization
    capabilities: frozenset[Capability]
    kind: TokenKind
    # The API key's id for keys; the person's ``sub`` for login JWTs.
    identifier: str

    # DRF and Django ask these of request.user.
    is_authenticated = True
    is_anonymous = False

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def __str__(self) -> str:
        return f"{self.kind}:{self.identifier}@{self.organization.slug}"


def principal_of(request: Any) -> Principal:
    """The authenticated caller of an API request (views run after authentication and
    the capability check, so there always is one)."""
    principal = request.user
    if not isinstance(principal, Principal):
        raise TypeError("the request was not authenticated by the gateway")
    return principal

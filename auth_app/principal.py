"""Who is calling: the result of resolving a bearer token."""

from dataclasses import dataclass
from enum import StrEnum

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

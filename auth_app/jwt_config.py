"""The login-JWT configuration, read once from ``settings.GATEWAY_JWT``."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from auth_app.capabilities import Capability, parse_capabilities
from auth_app.jwt_defaults import DEFAULTS

# Never accepted, whatever the configuration says (RFC 8725 §3.1, §3.2): unsigned
# tokens, and shared-secret algorithms (a public key must never become an HMAC secret).
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class JwtConfig:
    jwks_url: str
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    leeway: int
    org_claim: str
    role_claim: str
    role_capabilities: dict[str, frozenset[Capability]]
    autoprovision_orgs: bool
    jwks_cache_seconds: int
    jwks_cooldown_seconds: int
    jwks_grace_seconds: int
    jwks_timeout_seconds: float
    dev_signing: bool
    max_lifetime_seconds: int

    @property
    def enabled(self) -> bool:
        return bool(self.jwks_url)

    def capabilities_for(self, role: str) -> frozenset[Capability]:
        return self.role_capabilities.get(role, frozenset())


def _build(configured: dict[str, Any]) -> JwtConfig:
    raw = {**DEFAULTS, **configured}
    algorithms = tuple(
        alg
        for alg in raw["ALGORITHMS"]
        if alg in SUPPORTED_ALGORITHMS and alg not in FORBIDDEN_ALGORITHMS
    )
    return JwtConfig(
        jwks_url=raw["JWKS_URL"],
        issuer=raw["ISSUER"],
        audience=raw["AUDIENCE"],
        algorithms=algorithms,
        leeway=int(raw["LEEWAY"]),
        org_claim=raw["ORG_CLAIM"],
        role_claim=raw["ROLE_CLAIM"],
        role_capabilities={
            role: parse_capabilities(list(caps)) for role, caps in raw["ROLE_CAPABILITIES"].items()
        },
        autoprovision_orgs=bool(raw["AUTOPROVISION_ORGS"]),
        jwks_cache_seconds=int(raw["JWKS_CACHE_SECONDS"]),
        jwks_cooldown_seconds=int(raw["JWKS_COOLDOWN_SECONDS"]),
        jwks_grace_seconds=int(raw["JWKS_GRACE_SECONDS"]),
        jwks_timeout_seconds=min(float(raw["JWKS_TIMEOUT_SECONDS"]), MAX_TIMEOUT_SECONDS),
        dev_signing=bool(raw["DEV_SIGNING"]),
        max_lifetime_seconds=int(raw["MAX_LIFETIME_SECONDS"]),
    )


@cache
def jwt_config() -> JwtConfig:
    return _build(settings.GATEWAY_JWT)


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting == "GATEWAY_JWT":
        jwt_config.cache_clear()

"""The login-JWT configuration, read once from ``settings.GATEWAY_JWT``."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from auth_app.capabilities import Capability, parse_capabilities

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
    max_lifetime_seconds: int = 86400

    @property
    def enabled(self) -> bool:
        return bool(self.jwks_url)

    def capabilities_for(self, role: str) -> frozenset[Capability]:
        return self.role_capabilities.get(role, frozenset())


def _build(raw: dict[str, Any]) -> JwtConfig:
    algorithms = tuple(
        alg
        for alg in raw.get("ALGORITHMS", ())
        if alg in SUPPORTED_ALGORITHMS and alg not in FORBIDDEN_ALGORITHMS
    )
    return JwtConfig(
        jwks_url=raw.get("JWKS_URL", ""),
        issuer=raw.get("ISSUER", ""),
        audience=raw.get("AUDIENCE", ""),
        algorithms=algorithms,
        leeway=int(raw.get("LEEWAY", 30)),
        org_claim=raw.get("ORG_CLAIM", "org_id"),
        role_claim=raw.get("ROLE_CLAIM", "role"),
        role_capabilities={
            role: parse_capabilities(list(caps))
            for role, caps in raw.get("ROLE_CAPABILITIES", {}).items()
        },
        autoprovision_orgs=bool(raw.get("AUTOPROVISION_ORGS", True)),
        jwks_cache_seconds=int(raw.get("JWKS_CACHE_SECONDS", 600)),
        jwks_cooldown_seconds=int(raw.get("JWKS_COOLDOWN_SECONDS", 30)),
        jwks_grace_seconds=int(raw.get("JWKS_GRACE_SECONDS", 3600)),
        jwks_timeout_seconds=min(float(raw.get("JWKS_TIMEOUT_SECONDS", 3)), MAX_TIMEOUT_SECONDS),
        dev_signing=bool(raw.get("DEV_SIGNING", False)),
        max_lifetime_seconds=int(raw.get("MAX_LIFETIME_SECONDS", 86400)),
    )


@cache
def jwt_config() -> JwtConfig:
    return _build(settings.GATEWAY_JWT)


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting == "GATEWAY_JWT":
        jwt_config.cache_clear()

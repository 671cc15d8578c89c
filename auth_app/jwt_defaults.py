"""The login-JWT defaults, in one place: settings read the environment with these,
``jwt_config`` falls back to them, and the JWKS client takes them as its defaults.
Plain values (no Django), so settings can import them."""

from typing import Any

DEFAULTS: dict[str, Any] = {
    "JWKS_URL": "",
    "ISSUER": "",
    "AUDIENCE": "",
    "ALGORITHMS": ["RS256", "ES256", "EdDSA"],
    "LEEWAY": 30,
    "ORG_CLAIM": "org_id",
    "ROLE_CLAIM": "role",
    "ROLE_CAPABILITIES": {
        "owner": ["read", "send", "manage"],
        "admin": ["read", "send", "manage"],
        "member": ["read", "send"],
        "viewer": ["read"],
    },
    "AUTOPROVISION_ORGS": True,
    "JWKS_CACHE_SECONDS": 600,
    "JWKS_COOLDOWN_SECONDS": 30,
    "JWKS_GRACE_SECONDS": 3600,
    "JWKS_TIMEOUT_SECONDS": 3,
    # Development only: `minttoken` signs with a local key whose public half the gateway
    # serves at /.well-known/jwks.json. Never enable in production.
    "DEV_SIGNING": False,
    # Longest lifetime a token may claim (exp - iat, or exp - now without iat), seconds.
    "MAX_LIFETIME_SECONDS": 86400,
}

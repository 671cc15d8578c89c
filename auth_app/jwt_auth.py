"""Resolves a login JWT minted by the product's frontend to a principal (RFC 8725).

The algorithm is checked against the configured list before anything else — the
token's header never chooses it — and the key must be one the frontend's JWKS
publishes for that algorithm. ``exp`` and ``sub`` are required, ``nbf``/``iat`` are
honoured, ``iss``/``aud`` are checked when configured, and the organization and role
claims must be present. Messages say what is wrong without echoing the token.
"""

import threading
from typing import Any

import jwt

from auth_app import jwks
from auth_app.exceptions import InvalidToken
from auth_app.jwt_config import JwtConfig, jwt_config
from auth_app.principal import Principal, TokenKind
from auth_app.services import organization_for_login

_clients: dict[tuple[Any, ...], jwks.JwksClient] = {}
_clients_lock = threading.Lock()


def jwks_client(config: JwtConfig) -> jwks.JwksClient:
    """One client per process and configuration (shared by all request threads)."""
    key = (
        config.jwks_url,
        config.jwks_cache_seconds,
        config.jwks_cooldown_seconds,
        config.jwks_grace_seconds,
        config.jwks_timeout_seconds,
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = jwks.JwksClient(
                    config.jwks_url,
                    cache_seconds=config.jwks_cache_seconds,
                    cooldown_seconds=config.jwks_cooldown_seconds,
                    grace_seconds=config.jwks_grace_seconds,
                    timeout_seconds=config.jwks_timeout_seconds,
                )
                _clients[key] = client
    return client


def recognises(token: str) -> bool:
    return token.count(".") == 2


def resolve(token: str) -> Principal:
    config = jwt_config()
    if not config.enabled:
        raise InvalidToken("login tokens are not accepted: no JWKS is configured")
    claims = _verified_claims(token, config)
    organization_id = _required_text(claims, config.org_claim)
    role = _required_text(claims, config.role_claim)
    organization = organization_for_login(
        external_id=organization_id, provision=config.autoprovision_orgs
    )
    if organization is None:
        raise InvalidToken("token names an organization the gateway does not know")
    return Principal(
        organization=organization,
        capabilities=config.capabilities_for(role),
        kind=TokenKind.JWT,
        identifier=str(claims["sub"]),
    )


def _verified_claims(token: str, config: JwtConfig) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise InvalidToken("malformed token") from exc
    algorithm = header.get("alg")
    if algorithm not in config.algorithms:
        raise InvalidToken(f"token algorithm {str(algorithm)[:20]!r} is not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("malformed token: kid must be a string")
    try:
        key = jwks_client(config).get_key(kid, algorithm)
    except jwks.KeyNotFound as exc:
        raise InvalidToken("token signed with an unknown key") from exc
    except jwks.KeyUnusable as exc:
        raise InvalidToken("token key does not match its algorithm") from exc
    except jwks.KeySetUnavailable as exc:
        raise InvalidToken("cannot verify token: the signing keys are unavailable") from exc
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=config.audience or None,
            issuer=config.issuer or None,
            leeway=config.leeway,
            options={
                "require": ["exp", "sub"],
                "verify_aud": bool(config.audience),
                "verify_iss": bool(config.issuer),
            },
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken("token is not yet valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken("token audience is wrong") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken("token issuer is wrong") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"token is missing the '{exc.claim}' claim") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("token signature is invalid") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("invalid token") from exc


def _required_text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"token is missing the '{name}' claim")
    return value

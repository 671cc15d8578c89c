"""Resolves a login JWT minted by the product's frontend to a principal (RFC 8725).

The algorithm is checked against the configured list before anything else — the
token's header never chooses it — and the key must be one the frontend's JWKS
publishes for that algorithm. ``exp`` and ``sub`` are required, ``nbf``/``iat`` are
honoured, ``iss``/``aud`` are checked when configured, and the organization and role
claims must be present. Messages say what is wrong without echoing the token.

Every malformed part is a 401, never a 500: a header PyJWT refuses (``crit`` it does not
support, a non-string ``kid``, not an object), time claims that are not numbers (checked
before PyJWT, which assumes they are), a lifetime over ``GATEWAY_JWT_MAX_LIFETIME``
(``exp - iat``, or ``exp - now`` without ``iat``), and an organization id with control
or bidi characters (it would become an organization's name).
"""

import base64
import binascii
import hashlib
import json
import threading
import time
import unicodedata
from typing import Any

import jwt

from auth_app import jwks, resolution_memory
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


def forget_clients() -> None:
    """Drops every JWKS client (and the keys it fetched): the next token fetches afresh."""
    with _clients_lock:
        _clients.clear()


def recognises(token: str) -> bool:
    return token.count(".") == 2


def resolve(token: str) -> Principal:
    config = jwt_config()
    if not config.enabled:
        raise InvalidToken("login tokens are not accepted: no JWKS is configured")
    claims = _verified_claims(token, config)
    _check_lifetime(claims, config)
    organization_id = _required_text(claims, config.org_claim)
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in organization_id):
        raise InvalidToken(f"token's '{config.org_claim}' claim has control or format characters")
    role = _required_text(claims, config.role_claim)
    organization = resolution_memory.organizations.recall(organization_id)
    if organization is None:
        organization = organization_for_login(
            external_id=organization_id, provision=config.autoprovision_orgs
        )
        if organization is None:
            raise InvalidToken("token names an organization the gateway does not know")
        resolution_memory.organizations.remember(organization_id, organization)
    return Principal(
        organization=organization,
        capabilities=config.capabilities_for(role),
        kind=TokenKind.JWT,
        identifier=str(claims["sub"]),
    )


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _check_time_claim_types(token: str) -> None:
    """PyJWT converts time claims with int() and lets a TypeError escape for a list or an
    object: refuse any that is not a number first (the payload is read unverified here,
    only to refuse it; nothing in it is trusted before the signature is checked)."""
    try:
        segment = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("malformed token: the payload is not an object")
    for name in _TIME_CLAIMS:
        value = payload.get(name)
        if name in payload and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidToken(f"token's '{name}' claim must be a number")


def _check_lifetime(claims: dict[str, Any], config: JwtConfig) -> None:
    exp = claims["exp"]
    iat = claims.get("iat")
    lifetime = exp - iat if iat is not None else exp - time.time()
    if lifetime > config.max_lifetime_seconds:
        raise InvalidToken(
            f"token lifetime is over the {config.max_lifetime_seconds} s the gateway accepts"
        )


def _verified_claims(token: str, config: JwtConfig) -> dict[str, Any]:
    """The token's claims once its signature and registered claims check out; a token
    verified before under the same rules and the same current key set is not checked
    again (see ``auth_app.verified_tokens``)."""
    client = jwks_client(config)
    digest = _digest(token, config)
    current = client.current_key_set()
    if current is not None:
        remembered = client.verified.recall(digest, key_set=current)
        if remembered is not None:
            return remembered
    claims, key_set = _verify(token, config, client)
    client.verified.remember(digest, claims, key_set=key_set)
    return claims


def _digest(token: str, config: JwtConfig) -> bytes:
    rules = repr((config.algorithms, config.audience, config.issuer, config.leeway))
    return hashlib.sha256(f"{rules}\0{token}".encode()).digest()


def _verify(
    token: str, config: JwtConfig, client: jwks.JwksClient
) -> tuple[dict[str, Any], object]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:  # DecodeError, bad kid, unsupported crit, …
        raise InvalidToken("malformed token header") from exc
    _check_time_claim_types(token)
    algorithm = header.get("alg")
    if algorithm not in config.algorithms:
        raise InvalidToken(f"token algorithm {str(algorithm)[:20]!r} is not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("malformed token: kid must be a string")
    try:
        key, key_set = client.key_and_set(kid, algorithm)
    except jwks.KeyNotFound as exc:
        raise InvalidToken("token signed with an unknown key") from exc
    except jwks.KeyUnusable as exc:
        raise InvalidToken("token key does not match its algorithm") from exc
    except jwks.KeySetUnavailable as exc:
        raise InvalidToken("cannot verify token: the signing keys are unavailable") from exc
    try:
        claims = jwt.decode(
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
    except (jwt.InvalidTokenError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidToken("invalid token") from exc
    return claims, key_set


def _required_text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"token is missing the '{name}' claim")
    return value

"""Development login tokens: a local signing key, its public JWKS, and minting.

Only for running the gateway without a frontend (``GATEWAY_JWT_DEV_SIGNING=1``). The
private key is generated on first use into the data folder (owner-only file) and the
gateway serves its public half at ``/.well-known/jwks.json``; point
``GATEWAY_JWT_JWKS_URL`` there and tokens from ``minttoken`` verify like a frontend's.
"""

import hashlib
import json
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from jwt.algorithms import ECAlgorithm

from auth_app.jwt_config import JwtConfig

ALGORITHM = "ES256"
KEY_FILE_NAME = "dev-jwt-signing-key.pem"
DEFAULT_ISSUER = "whatsapp-gateway-dev"


def _key_path() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE_NAME


@cache
def _private_key() -> ec.EllipticCurvePrivateKey:
    path = _key_path()
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it first: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} does not hold an EC private key")
    return loaded


def _public_jwk() -> dict[str, Any]:
    jwk = ECAlgorithm.to_jwk(_private_key().public_key(), as_dict=True)
    thumbprint = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, sort_keys=True)
    return {
        **jwk,
        "kid": "dev-" + hashlib.sha256(thumbprint.encode()).hexdigest()[:16],
        "alg": ALGORITHM,
        "use": "sig",
    }


def public_jwks() -> dict[str, Any]:
    return {"keys": [_public_jwk()]}


def mint(
    *, config: JwtConfig, organization_id: str, role: str, subject: str, ttl_seconds: int
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer or DEFAULT_ISSUER,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        config.org_claim: organization_id,
        config.role_claim: role,
    }
    if config.audience:
        claims["aud"] = config.audience
    return jwt.encode(
        claims, _private_key(), algorithm=ALGORITHM, headers={"kid": _public_jwk()["kid"]}
    )

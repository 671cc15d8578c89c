"""A login JWT seen before vs one raw signature verification, per algorithm.

"raw" is PyJWT's `jwt.decode` with the key in hand (the signature check and the registered
claims, nothing else). "first sight" is the gateway's whole token check for a token it has
not seen (header and claim-type checks, the key from the cached JWKS, the decode).
"seen before" is the same check for a token it verified already: a hash of the token
looked up in the verified-token memory. A real JWKS server on loopback serves the keys.

    .venv/bin/python bench/jwt_verify.py [--iterations 5000] [--rounds 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("GATEWAY_DATA_DIR", tempfile.mkdtemp(prefix="gateway-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from django.conf import settings  # noqa: E402

from auth_app import jwt_auth  # noqa: E402
from auth_app.jwt_config import jwt_config  # noqa: E402
from tests.auth_app.jwks_server import make_key, serve_jwks  # noqa: E402


def per_call(function: Callable[[], object], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        function()
    return (time.perf_counter() - started) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with serve_jwks() as jwks:
        keys = {alg: make_key(alg, f"bench-{alg}") for alg in ("RS256", "ES256", "EdDSA")}
        jwks.keys = list(keys.values())
        settings.GATEWAY_JWT = {**settings.GATEWAY_JWT, "JWKS_URL": jwks.url}
        config = jwt_config()
        client = jwt_auth.jwks_client(config)
        now = int(time.time())
        claims = {"sub": "bench", "iat": now, "exp": now + 3600, "org_id": "o", "role": "owner"}

        print(f"{args.iterations} calls x {args.rounds} rounds, median µs per call")
        print()
        print(
            "| algorithm | raw verification | first sight (whole check) | seen before | "
            "seen before / raw |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        for alg, key in keys.items():
            token = key.sign(claims)
            public = client.get_key(key.kid, alg).key

            def raw(token: str = token, public: Any = public, alg: str = alg) -> object:
                return jwt.decode(token, key=public, algorithms=[alg])

            def seen_before(token: str = token) -> object:
                return jwt_auth._verified_claims(token, config)

            results: dict[str, list[float]] = {"raw": [], "first": [], "seen": []}
            for _ in range(args.rounds):
                fresh = [key.sign({**claims, "sub": f"u{n}"}) for n in range(args.iterations)]
                client.verified.forget_all()
                results["raw"].append(per_call(raw, args.iterations))
                started = time.perf_counter()
                for unseen in fresh:
                    jwt_auth._verified_claims(unseen, config)
                results["first"].append((time.perf_counter() - started) / len(fresh))
                seen_before()  # remembered (the fresh tokens may have pushed it out)
                results["seen"].append(per_call(seen_before, args.iterations))
            raw_us, first_us, seen_us = (
                statistics.median(results[name]) * 1e6 for name in ("raw", "first", "seen")
            )
            print(
                f"| {alg} | {raw_us:,.1f} | {first_us:,.1f} | {seen_us:,.1f} | "
                f"{seen_us / raw_us:.2f}x |"
            )
        print()
        print(f"JWKS fetches: {jwks.requests}")


if __name__ == "__main__":
    main()

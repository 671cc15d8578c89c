"""Per-request cost of authentication: API key vs login JWT (each algorithm) vs none.

Every variant calls the same endpoint (list groups, 20 stored groups) through Django's
full request handling in this process, so the differences are the cost of resolving the
token. "none" swaps in an authenticator that returns a fixed principal without looking
at any token. JWTs are verified against a real JWKS server on loopback (fetched once,
then cached, as in production).

    .venv/bin/python bench/auth_cost.py [--requests 2000] [--rounds 5]

Uses a throwaway SQLite database unless DATABASE_URL is set.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("GATEWAY_RATE_LIMIT_READ", "off")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("GATEWAY_DATA_DIR", tempfile.mkdtemp(prefix="gateway-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.authentication import BaseAuthentication  # noqa: E402

from auth_app.capabilities import ALL_CAPABILITIES  # noqa: E402
from auth_app.principal import Principal, TokenKind  # noqa: E402
from auth_app.services import api_key_issue, organization_create  # noqa: E402
from groups_app.api import GroupViewSet  # noqa: E402
from groups_app.models import Group  # noqa: E402
from sessions_app.models import Engine, SessionStatus, WhatsAppSession  # noqa: E402
from tests.auth_app.jwks_server import make_key, serve_jwks  # noqa: E402


def measure(client: Client, url: str, headers: dict[str, str], requests: int) -> float:
    """Seconds per request."""
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.content[:200]!r}")
    return (time.perf_counter() - started) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0)
    organization = organization_create(slug="bench", external_id="org_bench")
    session = WhatsAppSession.objects.create(
        organization=organization,
        engine=Engine.SANDBOX,
        name="bench",
        status=SessionStatus.CONNECTED,
        jid="15550990000@s.whatsapp.net",
    )
    Group.objects.bulk_create(
        Group(session=session, jid=f"120363{n:012d}@g.us", subject=f"Group {n}", owner_jid="x")
        for n in range(20)
    )
    api_key = api_key_issue(organization=organization, capabilities=ALL_CAPABILITIES).token
    url = f"/api/v1/sessions/{session.id}/groups"
    principal = Principal(
        organization=organization,
        capabilities=ALL_CAPABILITIES,
        kind=TokenKind.API_KEY,
        identifier="bench",
    )

    class NoAuthentication(BaseAuthentication):
        def authenticate(self, request):  # type: ignore[no-untyped-def]
            return principal, principal

    with serve_jwks() as jwks:
        keys = {alg: make_key(alg, f"bench-{alg}") for alg in ("RS256", "ES256", "EdDSA")}
        jwks.keys = list(keys.values())
        settings.GATEWAY_JWT = {**settings.GATEWAY_JWT, "JWKS_URL": jwks.url}
        now = int(time.time())
        claims = {"sub": "bench", "iat": now, "exp": now + 3600, "org_id": "org_bench"}
        variants: dict[str, dict[str, str]] = {
            "none": {},
            "API key": {"Authorization": f"Bearer {api_key}"},
        }
        for alg, key in keys.items():
            variants[f"JWT {alg}"] = {
                "Authorization": f"Bearer {key.sign({**claims, 'role': 'owner'})}"
            }

        client = Client()
        original = GroupViewSet.authentication_classes
        results: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, headers in variants.items():
                GroupViewSet.authentication_classes = (
                    [NoAuthentication] if name == "none" else original
                )
                measure(client, url, headers, 100)  # warm-up (and the one JWKS fetch)
                results[name].append(measure(client, url, headers, args.requests))
        GroupViewSet.authentication_classes = original

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    baseline = statistics.median(results["none"])
    print(
        f"list groups (20 stored), {args.requests} requests x {args.rounds} rounds, "
        f"median per request, database {database}, JWKS fetches: {jwks.requests}"
    )
    print()
    print("| authentication | µs / request | ratio to none | added by auth (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in results.items():
        median = statistics.median(samples)
        print(
            f"| {name} | {median * 1e6:,.0f} | {median / baseline:.2f}x | "
            f"{(median - baseline) * 1e6:,.0f} |"
        )


if __name__ == "__main__":
    main()

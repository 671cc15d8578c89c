"""System checks for the login-JWT settings: bad configuration fails at start-up."""

from typing import Any

from django.conf import settings
from django.core import checks

from auth_app.jwt_config import FORBIDDEN_ALGORITHMS, SUPPORTED_ALGORITHMS, jwt_config
from gateway import http


@checks.register(checks.Tags.security)
def check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    raw: dict[str, Any] = settings.GATEWAY_JWT
    messages: list[checks.CheckMessage] = []
    for alg in raw.get("ALGORITHMS", ()):
        if alg in FORBIDDEN_ALGORITHMS:
            messages.append(
                checks.Error(
                    f"GATEWAY_JWT_ALGORITHMS lists {alg!r}, which is never accepted",
                    hint="Use asymmetric algorithms: RS256, ES256, EdDSA.",
                    id="auth_app.E001",
                )
            )
        elif alg not in SUPPORTED_ALGORITHMS:
            messages.append(
                checks.Error(
                    f"GATEWAY_JWT_ALGORITHMS lists unknown algorithm {alg!r}",
                    hint=f"Supported: {', '.join(sorted(SUPPORTED_ALGORITHMS))}.",
                    id="auth_app.E002",
                )
            )
    url = raw.get("JWKS_URL", "")
    if url:
        try:
            http.check_url(url)
        except ValueError as exc:
            messages.append(checks.Error(f"GATEWAY_JWT_JWKS_URL: {exc}", id="auth_app.E003"))
    try:
        config = jwt_config()
    except ValueError as exc:
        messages.append(checks.Error(f"GATEWAY_JWT_ROLE_CAPABILITIES: {exc}", id="auth_app.E004"))
        return messages
    if url and not config.algorithms:
        messages.append(
            checks.Error("no usable algorithm in GATEWAY_JWT_ALGORITHMS", id="auth_app.E005")
        )
    if config.dev_signing and not settings.DEBUG:
        messages.append(
            checks.Warning(
                "GATEWAY_JWT_DEV_SIGNING is on without DEBUG: anyone with shell access can "
                "mint login tokens",
                hint="Turn it off in production.",
                id="auth_app.W001",
            )
        )
    return messages

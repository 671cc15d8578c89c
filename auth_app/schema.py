"""How BearerAuthentication appears in the OpenAPI schema."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "auth_app.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "Send Authorization: Bearer <token>. The gateway accepts two kinds of token "
                "and tries each in turn: a frontend-minted login JWT (verified against the "
                "frontend JWKS; the person's org + role are read from it), or an API key "
                "(wag_…) for a script or service, carrying a fixed set of capabilities. "
                "The bearerFormat: JWT label describes the person-login case."
            ),
        }

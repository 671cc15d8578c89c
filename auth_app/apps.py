from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    name = "auth_app"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme and the system checks.
        from auth_app import checks, schema  # noqa: F401

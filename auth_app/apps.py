from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    name = "auth_app"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from auth_app import schema  # noqa: F401  (registers the OpenAPI security scheme)

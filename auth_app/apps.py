from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    name = "auth_app"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        # Registers the OpenAPI security scheme and the system checks.
        from auth_app import checks, resolution_memory, schema  # noqa: F401
        from auth_app.models import ApiKey, Organization

        # A key or organization changed in this process: forget remembered keys at once.

        for model in (ApiKey, Organization):
            post_save.connect(
                resolution_memory.forget_all, sender=model, dispatch_uid=f"forget-{model}"
            )
            post_delete.connect(
                resolution_memory.forget_all, sender=model, dispatch_uid=f"forget-del-{model}"
            )

from django.apps import AppConfig


class GroupsAppConfig(AppConfig):
    name = "groups_app"
    verbose_name = "Stored WhatsApp groups"

    def ready(self) -> None:
        # The group live actions join the registry in every process (web and runner).
        from groups_app import registry  # noqa: F401

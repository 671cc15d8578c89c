from django.apps import AppConfig


class MessagesAppConfig(AppConfig):
    name = "messages_app"
    verbose_name = "Stored WhatsApp messages"

    def ready(self) -> None:
        # The message live actions join the registry in every process (web and runner).
        from messages_app import registry  # noqa: F401

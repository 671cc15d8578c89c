from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "WhatsApp sessions"

    def ready(self) -> None:
        # The session live actions join the registry; with GATEWAY_RUNNER_IN_PROCESS (the
        # test suite) live actions are answered by a supervisor in this process.
        from sessions_app import registry, routing  # noqa: F401
        from sessions_app.runner.supervisor import Supervisor

        routing.in_process_factory = lambda: Supervisor(allow_whatsapp=False)

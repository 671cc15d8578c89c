from django.apps import AppConfig


class GroupsAppConfig(AppConfig):
    name = "groups_app"
    verbose_name = "Stored WhatsApp groups"

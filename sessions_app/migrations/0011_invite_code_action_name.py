"""The invite action's registry row is named for what it returns: a code."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    records = apps.get_model("sessions_app", "LiveActionRecord")
    records.objects.filter(action="group_invite_link").update(action="group_invite_code")


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    records = apps.get_model("sessions_app", "LiveActionRecord")
    records.objects.filter(action="group_invite_code").update(action="group_invite_link")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0010_status_change_name")]

    operations = [migrations.RunPython(forwards, backwards)]

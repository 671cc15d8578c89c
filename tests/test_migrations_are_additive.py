"""A release's migrations must be safe while the previous release still runs (README,
"Production deployment", step 7): they add tables, columns that are nullable or have a
default in the database (`db_default`), indexes and constraints. Anything else —
removing, renaming or retyping what old processes read, or a column they cannot insert
without — must be listed here by name: an upgrade across it stops every process first."""

from django.db import migrations
from django.db.migrations.loader import MigrationLoader
from django.db.models.fields import NOT_PROVIDED

OUR_APPS = {"gateway", "auth_app", "sessions_app", "groups_app", "messages_app", "webhooks_app"}

ADDITIVE = (
    migrations.CreateModel,
    migrations.AddIndex,
    migrations.AddConstraint,
    migrations.AlterModelOptions,  # Python-side only: verbose names, ordering
    migrations.RunPython,  # backfills; each must leave the old release's reads working
)

# Released before the rule: an upgrade from a release older than any of these stops every
# process, migrates, then starts the new release.
STOP_FIRST = {
    ("groups_app", "0002_invite_code_and_lid"),
    ("messages_app", "0002_message_send_key"),
    ("sessions_app", "0002_runner_state"),
    ("sessions_app", "0005_live_action_response_digest"),
    ("sessions_app", "0007_device_jid"),
    ("auth_app", "0003_rate_counter_moves_to_gateway"),
    ("gateway", "0001_rate_counter_moves_here"),
    ("groups_app", "0003_admin_words"),
    ("sessions_app", "0006_live_action_name_from_registry"),
    ("sessions_app", "0009_admin_words"),
    ("sessions_app", "0010_status_change_name"),
    ("sessions_app", "0011_invite_code_action_name"),
    ("webhooks_app", "0002_deliveries_plural"),
    ("webhooks_app", "0003_delivery_round_two"),
}


def _additive(operation: migrations.operations.base.Operation) -> bool:
    if isinstance(operation, ADDITIVE):
        return True
    if isinstance(operation, migrations.AddField):
        # A Python-side default is not enough: the old release inserts rows without the
        # new column, so the database itself must accept that (NULL, or a db_default).
        field = operation.field
        return bool(field.null or field.db_default is not NOT_PROVIDED or field.many_to_many)
    return False


def test_every_migration_is_additive_or_listed():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    breaking = sorted(
        f"{app}.{name}: {type(operation).__name__} {operation.describe()}"
        for (app, name), migration in loader.disk_migrations.items()
        if app in OUR_APPS and (app, name) not in STOP_FIRST
        for operation in migration.operations
        if not _additive(operation)
    )
    assert breaking == []


def test_the_rule_catches_a_removed_column_and_a_required_new_one():
    from django.db import models

    assert not _additive(migrations.RemoveField("message", "text"))
    assert not _additive(migrations.AddField("message", "kind", models.CharField(max_length=9)))
    python_default = models.CharField(max_length=9, default="")
    assert not _additive(migrations.AddField("message", "kind", python_default))
    database_default = models.CharField(max_length=9, db_default="")
    assert _additive(migrations.AddField("message", "kind", database_default))
    assert _additive(migrations.AddField("message", "seen", models.DateTimeField(null=True)))


def test_the_stop_first_list_names_only_migrations_that_exist():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert set(loader.disk_migrations) >= STOP_FIRST

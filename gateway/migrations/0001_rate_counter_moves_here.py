from django.db import migrations, models


class Migration(migrations.Migration):
    """The rate counters' table, created by auth_app 0002, now belongs to this app (the
    throttling it serves lives here). State only: the table stays as it is."""

    dependencies = [
        ("auth_app", "0002_rate_counters"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateCounter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=255, unique=True)),
                        ("count", models.PositiveIntegerField(default=0)),
                        ("expires_at", models.DateTimeField(db_index=True)),
                    ],
                    options={"db_table": "auth_app_ratecounter"},
                ),
            ],
            database_operations=[],
        ),
    ]

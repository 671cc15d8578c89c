from django.db import migrations


class Migration(migrations.Migration):
    """RateCounter is the gateway app's now (its table is kept): state only."""

    dependencies = [
        ("auth_app", "0002_rate_counters"),
        ("gateway", "0001_rate_counter_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateCounter")],
            database_operations=[],
        ),
    ]

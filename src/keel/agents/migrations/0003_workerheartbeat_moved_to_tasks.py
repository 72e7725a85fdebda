"""The worker heartbeat now belongs to keel.tasks, in the same table: state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("keel_agents", "0002_run_enqueued_at"),
        ("keel_tasks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="WorkerHeartbeat")],
            database_operations=[],
        )
    ]

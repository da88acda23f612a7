"""``ScheduledRun`` now belongs to ``core``: drop it from this app's state only; the table
and its rows stay (``core.0001_scheduled_run`` took them over under the same name)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_notice_kind_reopened"),
        ("core", "0001_scheduled_run"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ScheduledRun")],
            database_operations=[],
        ),
    ]

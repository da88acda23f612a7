"""The scheduler's claims move from ``notifications`` to ``core``, keeping table and rows.

State only: the table ``notifications_scheduledrun`` exists (the notifications app's first
migration created it) and keeps its name, so this migration depends on no app.
``notifications.0004_scheduled_run_to_core`` removes the model from that app's state.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ScheduledRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("last_run_at", models.DateTimeField(blank=True, null=True)),
                        ("next_run_at", models.DateTimeField()),
                    ],
                    options={"db_table": "notifications_scheduledrun"},
                ),
            ],
            database_operations=[],
        ),
    ]

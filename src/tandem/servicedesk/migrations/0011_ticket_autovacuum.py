"""Keep the ticket table's visibility map fresh on PostgreSQL (decision 0014).

The queues read the newest tickets through a covering index; PostgreSQL answers from the
index alone only for table pages marked all-visible, which vacuum does. With the default
thresholds (20 % of the table) a million-ticket table is vacuumed after 200,000 new or
changed tickets, so the newest ones, which every queue reads first, were almost never
all-visible. Two and five per cent keep them so. SQLite has no such setting.
"""

from django.db import migrations

SETTINGS = (
    "autovacuum_vacuum_insert_scale_factor = 0.02",
    "autovacuum_vacuum_scale_factor = 0.05",
    "autovacuum_analyze_scale_factor = 0.02",
)


def tune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE servicedesk_ticket SET ({', '.join(SETTINGS)})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        names = ", ".join(setting.split(" = ")[0] for setting in SETTINGS)
        schema_editor.execute(f"ALTER TABLE servicedesk_ticket RESET ({names})")


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0010_covering_queue_index")]

    operations = [migrations.RunPython(tune, untune)]

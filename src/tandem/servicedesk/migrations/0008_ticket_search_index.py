"""A GIN index for ticket full-text search, on PostgreSQL only.

The index is on exactly the expression ``queries.search_tickets`` builds, so the planner
uses it; SQLite searches by substring and gets no index.
"""

from django.db import migrations

INDEX = "ticket_search"


def _index():  # type: ignore[no-untyped-def]
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("subject", "description", config="simple"), name=INDEX)


def add_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("servicedesk", "Ticket"), _index())


def remove_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("servicedesk", "Ticket"), _index())


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0007_queue_indexes")]

    operations = [migrations.RunPython(add_index, remove_index)]

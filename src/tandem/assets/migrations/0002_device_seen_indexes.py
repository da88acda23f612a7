"""The device lists' last-seen indexes: newest check-in first, never-seen devices last.

PostgreSQL sorts NULL first in a descending order unless told ``NULLS LAST``, and walks an
index in that order only if the index says so too; SQLite sorts NULL lowest (so last when
descending) and accepts no ``NULLS LAST`` in an index. Hence one statement per database.
"""

from django.db import migrations

#: Index name -> its columns; ``None`` marks the last-seen column, descending.
INDEXES = {
    "device_tenant_seen": ("tenant_id", None, "id"),
    "device_seen": (None, "id"),
}


def add_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    quote = schema_editor.quote_name
    seen = quote("last_seen_at") + " DESC"
    if schema_editor.connection.vendor == "postgresql":
        seen += " NULLS LAST"
    for name, columns in INDEXES.items():
        parts = ", ".join(seen if c is None else quote(c) for c in columns)
        schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote('assets_device')} ({parts})")


def remove_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]

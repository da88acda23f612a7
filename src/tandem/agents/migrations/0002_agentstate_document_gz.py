"""The stored inventory document moves from a JSON column to zlib-compressed canonical JSON
(decision 0028): an unchanged check-in never reads it, and a delta reads and writes ~40 KB
instead of ~0.3 MB of JSON the database parses and re-compresses."""

import json
import zlib

from django.db import migrations, models


def pack_documents(apps, schema_editor):
    state_model = apps.get_model("agents", "AgentState")
    for state in state_model._base_manager.exclude(document=None).only("id", "document").iterator():
        canonical = json.dumps(
            state.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        state_model._base_manager.filter(pk=state.pk).update(
            document_gz=zlib.compress(canonical, 1)
        )


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="agentstate",
            name="document_gz",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.RunPython(pack_documents, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="agentstate", name="document"),
    ]

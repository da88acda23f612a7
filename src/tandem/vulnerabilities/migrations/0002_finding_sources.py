"""One finding per CVE and package across sources (decision 0038, amended): findings name
every advisory merged into them (``sources``). Existing findings name their own; every
device is matched again by the periodic task (its scan row removed, so it counts as never
matched), which merges the findings two sources held apart."""

from django.db import migrations, models


def name_own_source(apps, schema_editor):  # type: ignore[no-untyped-def]
    Finding = apps.get_model("vulnerabilities", "Finding")
    changed = []
    for finding in Finding.objects.only("pk", "source", "advisory_ref").iterator(chunk_size=2000):
        finding.sources = [{"source": finding.source, "advisory": finding.advisory_ref}]
        changed.append(finding)
        if len(changed) >= 2000:
            Finding.objects.bulk_update(changed, ["sources"])
            changed = []
    Finding.objects.bulk_update(changed, ["sources"])


def match_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("vulnerabilities", "DeviceScan").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("vulnerabilities", "0001_advisories_and_findings"),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="sources",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(name_own_source, migrations.RunPython.noop),
        migrations.RunPython(match_again, migrations.RunPython.noop),
    ]

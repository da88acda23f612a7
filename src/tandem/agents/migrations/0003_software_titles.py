"""Installed software moves to de-duplicated titles (decision 0043): each distinct package a
tenant's devices report is one ``SoftwareTitle``, and a device's inventory is its (device,
title) pairs. Existing rows are carried over: every distinct package of a tenant becomes a
title, every row a pair. The report ids lose their device index (the unique (device,
report id) index serves every lookup by device).

The new pairs' table is made under a temporary name and renamed once the old table is gone:
the old table's index names, derived from its name, would otherwise collide.
"""

import hashlib
import json

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

#: Rows carried over per batch.
BATCH = 2000


def title_key(item_id, row):
    """``tandem.agents.titles.title_key``, as it is at this migration (migrations import no
    app code): BLAKE2b-128 over the JSON of the item id and the five values."""
    encoded = json.dumps([item_id, *row], separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest()


def carry_over(apps, schema_editor):
    legacy = apps.get_model("agents", "InstalledSoftware")._base_manager
    title_model = apps.get_model("agents", "SoftwareTitle")
    pair_model = apps.get_model("agents", "InstalledTitle")
    titles = title_model._base_manager
    now = timezone.now()
    ids: dict[tuple[int, str], int] = {}
    last = 0
    while True:
        rows = list(
            legacy.filter(id__gt=last)
            .order_by("id")
            .values_list(
                "id",
                "tenant_id",
                "device_id",
                "item_id",
                "name",
                "version",
                "architecture",
                "source_package",
                "source_version",
            )[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        keyed = [(row, title_key(row[3], row[4:])) for row in rows]
        new = {}
        for row, key in keyed:
            if (row[1], key) not in ids:
                new[(row[1], key)] = row
        if new:
            titles.bulk_create(
                [
                    title_model(
                        tenant_id=tenant_id,
                        key=key,
                        item_id=row[3],
                        name=row[4],
                        version=row[5],
                        architecture=row[6],
                        source_package=row[7],
                        source_version=row[8],
                        created_at=now,
                        updated_at=now,
                    )
                    for (tenant_id, key), row in new.items()
                ],
                ignore_conflicts=True,
            )
            for tenant_id, key, title_id in titles.filter(
                key__in=[key for _, key in new]
            ).values_list("tenant_id", "key", "id"):
                ids[(tenant_id, key.hex)] = title_id
        pair_model._base_manager.bulk_create(
            [
                pair_model(tenant_id=row[1], device_id=row[2], title_id=ids[(row[1], key)])
                for row, key in keyed
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0002_agentstate_document_gz"),
        ("assets", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SoftwareTitle",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("key", models.UUIDField()),
                ("item_id", models.CharField(max_length=500)),
                ("name", models.CharField(max_length=500)),
                ("version", models.CharField(blank=True, default="", max_length=200)),
                ("architecture", models.CharField(blank=True, default="", max_length=40)),
                ("source_package", models.CharField(blank=True, default="", max_length=500)),
                ("source_version", models.CharField(blank=True, default="", max_length=200)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, to="tenancy.tenant"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("tenant", "key"), name="agents_title_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="InstalledTitle",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "device",
                        "title",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="tenancy.tenant",
                    ),
                ),
                (
                    "device",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="assets.device",
                    ),
                ),
                (
                    "title",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agents.softwaretitle",
                    ),
                ),
            ],
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="InstalledSoftware"),
        migrations.RenameModel(old_name="InstalledTitle", new_name="InstalledSoftware"),
        migrations.AlterField(
            model_name="agentreport",
            name="device",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="assets.device",
            ),
        ),
    ]

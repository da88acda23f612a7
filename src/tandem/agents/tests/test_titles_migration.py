"""Decision 0043's data migration: installed software rows held before it come out as one
title per distinct package of each tenant and one (device, title) pair per row, and read
back exactly as they were; its copy of the title key is the check-in's."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tandem.agents.queries import software
from tandem.agents.titles import title_key
from tandem.assets.models import Device
from tandem.core.scoping import system_context

BEFORE = [("agents", "0002_agentstate_document_gz")]
AFTER = [("agents", "0003_software_titles")]
#: (item id, name, version, architecture, source package, source version).
PACKAGES = [
    ("openssl:amd64", "openssl", "3.0.15-1", "amd64", "openssl", "3.0.15-1"),
    ("libssl3:amd64", "libssl3", "3.0.15-1", "amd64", "openssl", "3.0.15-1"),
    ("HKLM:7-Zip", "7-Zip 23.01 (x64)", "23.01", "x64", "", ""),
    ("odd:all", "tab\there «ü» \\N", "1\n2", "all", "", ""),
]


def test_the_migration_key_is_the_check_ins() -> None:
    migration = importlib.import_module("tandem.agents.migrations.0003_software_titles")
    for item_id, *row in [*PACKAGES, ("x", '"quote"', "\x01\x7f\u2028", "", "", "")]:
        assert migration.title_key(item_id, row) == title_key(item_id, tuple(row))  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_rows_held_before_are_carried_over_to_titles() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    tenant_model = old.get_model("tenancy", "Tenant")
    device_model = old.get_model("assets", "Device")
    legacy = old.get_model("agents", "InstalledSoftware")
    now = timezone.now()
    held: dict[int, list[tuple[str, ...]]] = {}
    for n in (1, 2):
        tenant = tenant_model.objects.create(name=f"Tenant {n}", slug=f"tenant-{n}")
        for m in (1, 2):
            device = device_model.objects.create(tenant=tenant, name=f"pc-{n}-{m}", enrolled_at=now)
            # Both devices of a tenant share the first three packages; the second has
            # openssl at another version too.
            packages = PACKAGES[:3] if m == 1 else [*PACKAGES[:3], PACKAGES[3]]
            if m == 2:
                packages[0] = (*packages[0][:2], "3.0.16-1", *packages[0][3:])
            for item_id, name, version, arch, source, source_version in packages:
                legacy.objects.create(
                    tenant=tenant,
                    device=device,
                    item_id=item_id,
                    name=name,
                    version=version,
                    architecture=arch,
                    source_package=source,
                    source_version=source_version,
                )
            held[device.pk] = sorted(packages)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    titles = new.get_model("agents", "SoftwareTitle").objects
    pairs = new.get_model("agents", "InstalledSoftware").objects
    # Per tenant: the three shared packages, openssl 3.0.16 and the odd one.
    assert titles.count() == 2 * 5
    assert pairs.count() == sum(len(p) for p in held.values())
    for title in titles.all():
        row = (title.name, title.version, title.architecture)
        assert title.key.hex == title_key(
            title.item_id, (*row, title.source_package, title.source_version)
        )
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    with system_context("test: the carried rows read back"):
        for device_id, packages in held.items():
            rows = software(Device.objects.get(pk=device_id)).values_list(
                "title__item_id",
                "title__name",
                "title__version",
                "title__architecture",
                "title__source_package",
                "title__source_version",
            )
            assert sorted(rows) == packages

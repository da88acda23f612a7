"""Patch compliance snapshots (decision 0048): what the pages and the API read is exactly
what the live computation gives at the snapshot's time, for the whole tenant and for a
provider that sees part of it, on a varied fleet (every kind of state, stale devices,
reboot debt, several sites, groups and parties) under each preset; other settings or a
missing snapshot read live; a change marks the snapshot stale and the worker's run takes
it in. Dates come from "now"."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.db import connection
from django.utils import timezone
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets import services as devices
from tandem.assets.models import Device
from tandem.core.policies import sees_whole_tenant
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import principal_scope, system_context, within_tenant
from tandem.patching import compliance, queries, services, snapshot_queries, snapshot_services
from tandem.patching.models import (
    ComplianceDevice,
    ComplianceSnapshot,
    ComplianceStanding,
    DeviceUpdateState,
)
from tandem.patching.policies import VIEW_PATCHING_DEVICES
from tandem.patching.tests.support import northwind_patches_hq_servers, report
from tandem.responsibility import services as matrix
from tandem.scale.patching import build_patching_fleet
from tandem.tenancy.models import AssetGroup, ServiceArea, Tenant

SYSTEM = system_principal("test: compliance snapshots")


def _acme(world: World) -> Tenant:
    with system_context("test"):
        return Tenant.objects.get(pk=world["tenant"])


def _fleet(world: World) -> dict[str, object]:
    """60 devices over Acme's two sites (and none) and its two groups (and none), with the
    HQ servers' patching given to Northwind so that the parties differ."""
    acme = _acme(world)
    northwind_patches_hq_servers(world)
    with within_tenant(acme.pk):
        return build_patching_fleet(
            tenant_id=acme.pk,
            devices=60,
            states_per_device=15,
            packages=40,
            site_ids=(world["site"], world["site_out_of_scope"], None),
            asset_group_ids=(world["asset_group"], world["asset_group_out_of_scope"], None),
            seed=7,
        )


def _read(world: World, name: str, **options: object) -> queries.TenantCompliance:
    principal = resolve_principal(user_of(world, name))
    with principal_scope(principal):
        return snapshot_queries.compliance_for_reader(
            world["tenant"], principal=principal, **options
        )  # type: ignore[arg-type]


def _same(read: queries.TenantCompliance, live: queries.TenantCompliance) -> None:
    """Everything a reader is shown: the figures, the breakdowns (with their order), the
    devices not current (the page) and every device's standing (the CSV)."""
    assert read.evaluation.devices == []  # a snapshot's reader never loads all devices
    assert replace(read.evaluation, devices=live.evaluation.devices) == live.evaluation
    assert read.failing() == live.failing()
    assert list(read.device_results()) == live.evaluation.devices


def _every_preset_exactly(
    world: World, tenant_id: int, now: dt.datetime
) -> dict[tuple[str, str], queries.TenantCompliance]:
    """Every preset read from the snapshot by the tenant's IT (stored totals), Northwind
    (one site: SQL tallies) and Sentinel: each exactly the live computation at ``now``.
    The reads, by reader and preset."""
    reads = {}
    for shown in compliance.Preset.VALUES:
        for name, principal in _readers(world).items():
            with principal_scope(principal):
                live = queries.compliance_for_tenant(
                    tenant_id, now, principal=principal, preset=shown
                )
                read = snapshot_queries.compliance_for_reader(
                    tenant_id, principal=principal, preset=shown
                )
            assert read.from_snapshot, (shown, name)
            assert read.evaluation.rule.preset == shown
            _same(read, live)
            reads[(name, shown)] = read
    return reads


def _readers(world: World) -> dict[str, Principal]:
    return {
        "owner": resolve_principal(user_of(world, "owner")),
        "provider_tech": resolve_principal(user_of(world, "provider_tech")),
        "second_provider_tech": resolve_principal(user_of(world, "second_provider_tech")),
    }


@pytest.mark.parametrize(
    ("preset", "extra"),
    [
        ("cyber_essentials", {}),
        ("cis_7_3", {"staleness_days": 30}),
        ("essential_eight", {"reboot_debt_days": 3}),
        ("custom", {"days": 5}),
    ],
)
def test_the_snapshot_gives_exactly_the_live_figures(world, preset, extra) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    fleet = _fleet(world)
    facing = None
    if preset == "essential_eight":
        with system_context("test"):
            facing = AssetGroup.objects.get(pk=world["asset_group"])
    services.set_compliance_settings(
        actor=SYSTEM, tenant=acme, preset=preset, internet_facing_group=facing, **extra
    )
    now = timezone.now()
    with system_context("test: refresh"):
        snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk, now=now)

    with within_tenant(acme.pk):
        live = queries.compliance_for_tenant(acme.pk, now)
        read = snapshot_queries.compliance_for_reader(acme.pk)
        # The missing updates the computation leaves in the database move no figure.
        chosen = queries.compliance_settings(acme.pk)
        options = queries.compliance_options(chosen)
        fetched = queries._compliance_rows(acme.pk, now, chosen, options, None)
        devices, states = queries._compliance_rows(
            acme.pk, now, chosen, options, None, every_state=True
        )
        # The refresh's one fetch for every preset leaves out fewer, still none that counts.
        _, _, every_preset = snapshot_services.judge_every_preset(acme.pk, now)
    assert compliance.evaluate(devices, states, now, options) == live.evaluation
    assert len(fetched[1]) < len(states)
    assert [e.rule.preset for e in every_preset] == list(compliance.Preset.VALUES)
    for evaluation in every_preset:
        preset_options = queries.compliance_options(chosen, preset=evaluation.rule.preset)
        assert evaluation == compliance.evaluate(devices, states, now, preset_options)
    assert read.from_snapshot and not read.stale
    _same(read, live)
    # The fleet is varied enough for the comparison to mean something.
    overall = live.overall
    assert overall.in_scope < overall.devices >= len(fleet["device_ids"])  # type: ignore[arg-type]
    assert 0 < overall.current < overall.in_scope
    assert overall.sla_met and overall.sla_pairs > overall.sla_met
    assert len(live.evaluation.by_site) == 3 and len(live.evaluation.by_party) >= 2

    # Every preset, the tenant's and the others, read from the snapshot by its IT (stored
    # totals), Northwind (one site: SQL tallies) and Sentinel.
    reads = _every_preset_exactly(world, acme.pk, now)
    for shown in compliance.Preset.VALUES:
        # Northwind sees the HQ site only: fewer devices than the tenant's own IT.
        owner, northwind = reads[("owner", shown)], reads[("provider_tech", shown)]
        assert 0 < northwind.overall.devices < owner.overall.devices
    percent = {shown: reads[("owner", shown)].percent_current for shown in compliance.Preset.VALUES}
    # The presets judge differently on this fleet (the comparison is not of one figure).
    assert len(set(percent.values())) > 1


def test_other_settings_read_live_and_a_change_marks_the_snapshot_for_the_worker(
    world,
) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    _fleet(world)
    # No snapshot yet: live, now.
    assert not _read(world, "owner").from_snapshot
    with system_context("test: worker"):
        assert acme.pk in snapshot_services.refresh_due_compliance_snapshots(actor=SYSTEM)
        # Fresh and unchanged: nothing is due.
        assert acme.pk not in snapshot_services.refresh_due_compliance_snapshots(actor=SYSTEM)
    assert _read(world, "owner").from_snapshot
    # Another period than the snapshot's is computed live.
    assert not _read(world, "owner", period_days=30).from_snapshot

    # Another preset is in the snapshot already: chosen, it reads stored figures at once.
    assert _read(world, "owner", preset="cis_7_3").from_snapshot
    services.set_compliance_settings(actor=SYSTEM, tenant=acme, preset="cis_7_3")
    read = _read(world, "owner")
    assert read.from_snapshot and read.evaluation.rule.label == "CIS Controls v8 7.3"
    # New thresholds: read live at once (every preset), and the snapshot is due.
    services.set_compliance_settings(actor=SYSTEM, tenant=acme, preset="cis_7_3", staleness_days=21)
    assert not _read(world, "owner").from_snapshot
    assert not _read(world, "owner", preset="essential_eight").from_snapshot
    with system_context("test"):
        assert ComplianceSnapshot.objects.get(tenant_id=acme.pk).stale
    with system_context("test: worker"):
        assert snapshot_services.refresh_due_compliance_snapshots(actor=SYSTEM) == [acme.pk]
    read = _read(world, "owner")
    assert read.from_snapshot and not read.stale
    assert read.evaluation.rule.label == "CIS Controls v8 7.3"
    assert _read(world, "owner", preset="essential_eight").from_snapshot

    # A device's states changed (the sync marks it): shown as stale until the next run.
    with within_tenant(acme.pk):
        snapshot_services.mark_compliance_changed(tenant_id=acme.pk)
    assert _read(world, "owner").stale


def test_the_page_and_the_api_say_as_of_when(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    _fleet(world)
    owner = as_persona("owner")
    api = f"/api/v1/patching/tenants/{acme.pk}/compliance"
    before = owner.get(api).json()
    assert before["from_snapshot"] is False
    page = owner.get(f"/tenants/{acme.pk}/patching/compliance/")
    assert "Figures computed now." in page.content.decode()
    with system_context("test: worker"):
        snapshot = snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk)
    after = owner.get(api).json()
    assert after["from_snapshot"] is True and after["stale"] is False
    # The API's times are in milliseconds.
    as_of = dt.datetime.fromisoformat(after["now"].replace("Z", "+00:00"))
    assert abs(as_of - snapshot.computed_at) < dt.timedelta(milliseconds=1)
    page = owner.get(f"/tenants/{acme.pk}/patching/compliance/")
    assert "Figures as of " in page.content.decode()


def test_reading_a_snapshot_takes_a_fixed_number_of_queries(
    world, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    """Settings and snapshot: the stored totals, for a reader who sees the whole tenant
    (its IT). A provider: also "does it see every device judged?", then two aggregates
    over the standings of the devices it sees."""
    acme = _acme(world)
    _fleet(world)
    with system_context("test: worker"):
        snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk)
    readers = _readers(world)
    for name, queries_made in (("owner", 2), ("provider_tech", 5)):
        reader = readers[name]
        with principal_scope(reader), django_assert_num_queries(queries_made):
            assert snapshot_queries.compliance_for_reader(acme.pk, principal=reader).from_snapshot


def test_moves_retirements_reboot_facts_and_matrix_changes_mark_the_snapshot(world) -> None:  # type: ignore[no-untyped-def]
    """Each change that moves a figure without touching an update state marks the tenant's
    snapshot for the worker's next run (domain events; the suite runs subscribers eagerly),
    and a change that moves none (the same inventory again, protection) does not."""
    acme = _acme(world)
    report(world)

    def refresh() -> None:
        with system_context("test: worker"):
            snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk)
        assert not stale()

    def stale() -> bool:
        with system_context("test"):
            return ComplianceSnapshot.objects.get(tenant_id=acme.pk).stale

    def device() -> Device:
        with system_context("test"):
            return Device.objects.get(pk=world["device"])

    refresh()
    report(world)  # the same inventory again
    assert not stale()
    report(world, reboot_required=True)
    assert stale()

    refresh()
    devices.update_device(actor=SYSTEM, device=device(), protected=True)
    assert not stale()
    devices.update_device(actor=SYSTEM, device=device(), asset_group_id=None)
    assert stale()
    refresh()
    devices.update_device(actor=SYSTEM, device=device(), site_id=world["site_out_of_scope"])
    assert stale()

    refresh()
    with system_context("test"):
        area = ServiceArea.objects.get(pk=world["service_area"])
    matrix.add_matrix_row(
        actor=SYSTEM,
        tenant=acme,
        service_area_id=area.pk,
        site_id=world["site"],
        responsible_id=world["party"],
        accountable_id=world["internal_party"],
    )
    assert stale()

    refresh()
    before = _read(world, "owner").overall.devices
    devices.retire_device(actor=SYSTEM, device=device())
    assert stale()
    # The worker's run takes it in: the retired device is no longer counted.
    with system_context("test: worker"):
        assert acme.pk in snapshot_services.refresh_due_compliance_snapshots(actor=SYSTEM)
    after = _read(world, "owner")
    assert after.overall.devices == before - 1
    assert world["device"] not in {d.device_id for d in after.device_results()}


def test_only_a_reader_of_the_whole_tenant_skips_narrowing(world) -> None:  # type: ignore[no-untyped-def]
    """The stored totals are read without narrowing only by a reader whose access narrows
    nothing: the tenant's own IT, not a provider scoped to one site, nor anyone without
    access to the tenant."""
    readers = _readers(world)
    assert sees_whole_tenant(readers["owner"], VIEW_PATCHING_DEVICES, world["tenant"])
    assert not sees_whole_tenant(readers["provider_tech"], VIEW_PATCHING_DEVICES, world["tenant"])
    other = world["other_tenant"]
    assert not sees_whole_tenant(readers["owner"], VIEW_PATCHING_DEVICES, other)


def test_the_page_the_api_and_the_csv_compare_under_another_preset(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """Any preset can be looked at without changing the tenant's: from the snapshot, with
    the tenant's own named; a name that is no preset is refused by the API (422) and the
    page shows the tenant's own."""
    acme = _acme(world)
    _fleet(world)
    with system_context("test: worker"):
        snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk)
    owner = as_persona("owner")
    api = f"/api/v1/patching/tenants/{acme.pk}/compliance"
    other = owner.get(api + "?preset=essential_eight").json()
    assert other["preset"] == "essential_eight" and other["chosen_preset"] == "cyber_essentials"
    assert other["from_snapshot"] is True
    assert owner.get(api + "?preset=nist").status_code == 422
    page = owner.get(f"/tenants/{acme.pk}/patching/compliance/?preset=cis_7_3").content.decode()
    assert "Judged by <strong>CIS Controls v8 7.3</strong>" in page
    assert "Figures as of " in page and "compliance.csv?preset=cis_7_3" in page
    page = owner.get(f"/tenants/{acme.pk}/patching/compliance/?preset=nist").content.decode()
    assert "Judged by <strong>Cyber Essentials</strong>" in page
    csv = owner.get(f"/tenants/{acme.pk}/patching/compliance.csv?preset=cis_7_3")
    rows = b"".join(csv.streaming_content).decode().splitlines()
    with within_tenant(acme.pk):
        live = queries.compliance_for_tenant(acme.pk, preset="cis_7_3")
    assert len(rows) == 1 + len(live.evaluation.devices)


def _rows(tenant_id: int) -> dict[tuple[str, object], tuple[object, ...]]:
    """Every stored row of the tenant's snapshot, by (table, key): its key, when it was
    last written and, on PostgreSQL, the transaction that wrote its current version and
    where it lies (``xmin``, ``ctid``: a rewrite with the same values changes both)."""
    found: dict[tuple[str, object], tuple[object, ...]] = {}
    with system_context("test"):
        for model, key in ((ComplianceDevice, "pk"), (ComplianceStanding, "id")):
            table = model._meta.db_table
            rows = model.objects.filter(tenant_id=tenant_id).values_list(key, "updated_at")
            for pk, updated_at in rows:
                found[(table, pk)] = (updated_at,)
            if connection.vendor == "postgresql":
                column = connection.ops.quote_name(str(model._meta.pk.column))  # type: ignore[union-attr]
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {column}, xmin::text, ctid::text FROM {table} "  # noqa: S608
                        "WHERE tenant_id = %s",
                        [tenant_id],
                    )
                    for pk, xmin, ctid in cursor.fetchall():
                        found[(table, pk)] += (xmin, ctid)
    return found


def _written(
    before: dict[tuple[str, object], tuple[object, ...]],
    after: dict[tuple[str, object], tuple[object, ...]],
) -> dict[str, set[object]]:
    """The rows a refresh inserted, rewrote and deleted, by their keys."""
    return {
        "inserted": {key for key in after.keys() - before.keys()},
        "updated": {key for key in after.keys() & before.keys() if after[key] != before[key]},
        "deleted": {key for key in before.keys() - after.keys()},
    }


def _of_device(device_id: int, tenant_id: int) -> set[tuple[str, object]]:
    """The keys of a device's rows: its own, and its standing under each preset."""
    with system_context("test"):
        ids = ComplianceStanding.objects.filter(tenant_id=tenant_id, device_id=device_id)
        return {(ComplianceDevice._meta.db_table, device_id)} | {
            (ComplianceStanding._meta.db_table, pk) for pk in ids.values_list("id", flat=True)
        }


def test_a_refresh_writes_only_the_rows_that_changed(world) -> None:  # type: ignore[no-untyped-def]
    """Nothing changed: a refresh a moment later leaves every stored row as it was (not
    rewritten with the same values). One device's updates installed: only that device's
    rows are rewritten, in place. A device renamed: only its rows (the list's order is
    each row's, not a position shifting the others'). Retired or deleted: its rows go.
    After each, every reader still reads exactly the live figures."""
    acme = _acme(world)
    fleet = _fleet(world)
    now = timezone.now()

    def refresh(at: dt.datetime) -> None:
        with system_context("test: worker"):
            snapshot_services.refresh_compliance_snapshot(actor=SYSTEM, tenant_id=acme.pk, now=at)

    refresh(now)
    first = _rows(acme.pk)
    device_ids: list[int] = fleet["device_ids"]  # type: ignore[assignment]
    with system_context("test"):
        judged = ComplianceSnapshot.objects.get(tenant_id=acme.pk).devices
    assert judged >= len(device_ids)
    assert len(first) == judged * (1 + len(compliance.Preset.VALUES))

    # Nothing changed: nothing written, though the snapshot's time moved.
    refresh(now + dt.timedelta(milliseconds=1))
    assert _rows(acme.pk) == first
    with system_context("test"):
        assert ComplianceSnapshot.objects.get(tenant_id=acme.pk).computed_at > now

    # A failing device's missing updates are installed: its rows alone are rewritten.
    with system_context("test"):
        failing = ComplianceStanding.objects.filter(
            tenant_id=acme.pk, preset="cyber_essentials", current=False
        ).values_list("device_id", flat=True)[0]
        DeviceUpdateState.objects.filter(device_id=failing, status="missing").update(
            status="installed", installed_at=now
        )
    mine = _of_device(failing, acme.pk)
    at = now + dt.timedelta(milliseconds=2)
    refresh(at)
    second = _rows(acme.pk)
    written = _written(first, second)
    assert not written["inserted"] and not written["deleted"]
    assert written["updated"] and written["updated"] <= mine
    _every_preset_exactly(world, acme.pk, at)

    # Renamed to the front of the list: its rows alone (its place in the list is its own
    # rows' order, no position of the others shifts).
    renamed = device_ids[-1]
    mine = _of_device(renamed, acme.pk)
    with system_context("test"):
        devices.update_device(actor=SYSTEM, device=Device.objects.get(pk=renamed), name="AAA first")
    at = now + dt.timedelta(milliseconds=3)
    refresh(at)
    third = _rows(acme.pk)
    assert _written(second, third) == {"inserted": set(), "updated": mine, "deleted": set()}
    _every_preset_exactly(world, acme.pk, at)

    # Retired, and deleted outright: their rows go, nothing else is written.
    retired, deleted = device_ids[0], device_ids[1]
    gone = _of_device(retired, acme.pk) | _of_device(deleted, acme.pk)
    with system_context("test"):
        devices.retire_device(actor=SYSTEM, device=Device.objects.get(pk=retired))
        Device.objects.filter(pk=deleted).delete()
    at = now + dt.timedelta(milliseconds=4)
    refresh(at)
    assert _written(third, _rows(acme.pk)) == {
        "inserted": set(),
        "updated": set(),
        "deleted": gone,
    }
    _every_preset_exactly(world, acme.pk, at)

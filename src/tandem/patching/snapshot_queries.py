"""Reads of patch compliance from the worker's snapshots (decision 0048): what the
compliance page, its CSV, the API and the cross-tenant summary show.

A reader who sees every device the snapshot judged (the tenant's own IT) reads the stored
tenant-wide, per-site and per-party figures: a few rows whatever the fleet. A reader who
sees part of the tenant (a provider's engagement scope) gets the same figures summed in SQL
over the standings of the devices it sees now (one aggregate per site and party, and the
durations of the devices that have some, for the medians). Live
(``queries.compliance_for_tenant``) when there is no snapshot yet or it was judged under
other settings. Every read narrows through ``patching.view_patching_devices``: fail-closed,
a reader outside the tenant's scope sees no standing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from tandem.assets.models import Device
from tandem.core.policies import sees_whole_tenant, visible
from tandem.core.principal import Principal
from tandem.patching import compliance
from tandem.patching.models import ComplianceSnapshot, ComplianceStanding
from tandem.patching.permissions import VIEW_PATCHING
from tandem.patching.policies import VIEW_PATCHING_DEVICES
from tandem.patching.queries import (
    COMPLIANCE_PERIOD_DAYS,
    TenantCompliance,
    compliance_for_tenant,
    compliance_options,
    compliance_settings,
    snapshot_key,
)
from tandem.tenancy.models import Tenant


def compliance_for_reader(
    tenant_id: int,
    *,
    principal: Principal | None = None,
    period_days: int = COMPLIANCE_PERIOD_DAYS,
    preset: str | None = None,
) -> TenantCompliance:
    """What the pages and the API show: the worker's snapshot of the tenant under the
    tenant's preset, or under ``preset`` (another one, to compare: the snapshot holds every
    preset's figures), over the active devices ``principal`` sees, as of the snapshot's
    time; live (now) when the tenant has no snapshot yet or it was computed under other
    settings (another period, new thresholds). No state row is read, and no device row for
    a reader who sees them all."""
    chosen = compliance_settings(tenant_id)
    options = compliance_options(chosen, period_days, preset)
    preset = options.rule.preset
    snapshot = ComplianceSnapshot.objects.filter(tenant_id=tenant_id).first()
    stored = snapshot.presets.get(preset) if snapshot is not None else None
    if snapshot is None or stored is None or stored["key"] != snapshot_key(chosen, options):
        return compliance_for_tenant(
            tenant_id, principal=principal, period_days=period_days, preset=preset
        )
    standings = ComplianceStanding.objects.filter(tenant_id=tenant_id, preset=preset)
    narrowed = False
    if principal is not None and not sees_whole_tenant(principal, VIEW_PATCHING_DEVICES, tenant_id):
        # A device's standing depends on that device alone: the devices the reader sees
        # now, out of those the snapshot judged, give the figures a live read would. When
        # that is every device judged (none retired since), the stored totals are those.
        devices = Device.objects.filter(tenant_id=tenant_id, status="active")
        seen = visible(principal, VIEW_PATCHING_DEVICES, devices).values("id")
        narrowed = standings.exclude(device_id__in=seen).exists()
        standings = standings.filter(device_id__in=seen)
    if narrowed:
        parts = standing_parts(standings)
        evaluation = compliance.summarise_parts(parts, snapshot.computed_at, options)
    else:
        evaluation = compliance.from_totals(stored["totals"], snapshot.computed_at, options)
    return TenantCompliance(
        tenant_id=tenant_id,
        settings=chosen,
        evaluation=evaluation,
        from_snapshot=True,
        stale=snapshot.stale,
        standings=standings,
    )


def standing_parts(standings: QuerySet[ComplianceStanding]) -> list[compliance.Part]:
    """The standings' tallies per (site, party): one aggregate query for the counts, one
    for the durations of the in-scope devices that have some (medians need the values).
    Both join each standing to its device's row (``ComplianceDevice``), which holds the
    place, the scope and the durations once for every preset."""
    scoped = Q(device__in_scope=True)
    places = ("device__site_id", "device__site_name", "device__party_id", "device__party_name")
    tallies: dict[tuple[object, ...], compliance.Tally] = {}
    for row in (
        standings.values(*places)
        .annotate(
            n=Count("id"),
            n_scope=Count("id", filter=scoped),
            n_current=Count("id", filter=scoped & Q(current=True)),
            n_recent=Count("id", filter=scoped & Q(device__reported_recently=True)),
            met=Sum("sla_met", filter=scoped),
            missed=Sum("sla_missed", filter=scoped),
            overdue=Sum("overdue_total", filter=scoped),
            debt=Count("id", filter=scoped & Q(device__in_reboot_debt=True)),
        )
        .order_by()
    ):
        tallies[tuple(row[name] for name in places)] = compliance.Tally(
            devices=row["n"],
            in_scope=row["n_scope"],
            current=row["n_current"],
            reported_recently=row["n_recent"],
            sla_met=row["met"] or 0,
            sla_missed=row["missed"] or 0,
            overdue_updates=row["overdue"] or 0,
            reboot_debt=row["debt"],
        )
    durations = standings.filter(scoped, device__patched__gt=0).values_list(
        *places, "device__to_patch", "device__to_patch_from_detection"
    )
    for *place, to_patch, from_detection in durations.order_by().iterator(chunk_size=2000):
        tallies[tuple(place)].add_durations(to_patch, from_detection)
    return [
        compliance.Part(
            site_id=key[0],  # type: ignore[arg-type]
            site_name=key[1] or "",  # type: ignore[arg-type]
            party_id=key[2],  # type: ignore[arg-type]
            party_name=key[3] or "",  # type: ignore[arg-type]
            tally=found,
        )
        for key, found in tallies.items()
    ]


@dataclass(frozen=True)
class TenantComplianceLine:
    """One tenant in a reader's cross-tenant compliance summary."""

    tenant: Tenant
    compliance: TenantCompliance


def compliance_across_tenants(principal: Principal) -> list[TenantComplianceLine]:
    """Every tenant the reader holds ``view_patching`` in (a provider: its clients), with
    its compliance over the devices the reader sees there; worst first. A few queries per
    tenant: the figures are per tenant by nature (each has its own preset)."""
    tenant_ids = sorted({a.tenant_id for a in principal.accesses_with(VIEW_PATCHING)})
    tenants = visible(principal, "tenancy.view_tenant", Tenant.objects.filter(pk__in=tenant_ids))
    lines = [
        TenantComplianceLine(t, compliance_for_reader(t.pk, principal=principal))
        for t in tenants.order_by("name", "id")
    ]
    lines.sort(
        key=lambda line: (
            line.compliance.percent_current is None,
            line.compliance.percent_current or 0,
        )
    )
    return lines

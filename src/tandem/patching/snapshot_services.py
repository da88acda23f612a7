"""Patch compliance snapshots (decision 0048): each tenant's compliance computed by the
worker and stored, so the compliance pages, API and CSV read one row instead of computing
over every device on each request. Derived data, like the update states' sync: not
audited. Patching's other services mark a tenant changed through
:func:`mark_compliance_changed`; the periodic task refreshes what is due."""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from tandem.assets.models import Device
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import compliance, queries
from tandem.patching.models import ComplianceSnapshot

#: A snapshot is recomputed at least this often even without a change: the figures are
#: relative to "now" (an update becomes overdue, a device stale, by the clock alone).
SNAPSHOT_MAX_AGE = dt.timedelta(minutes=15)
#: Tenants refreshed at most per run of the periodic task (the rest wait for the next run,
#: oldest first): one run stays within a few minutes at 10,000 devices a tenant.
SNAPSHOT_TENANTS_PER_RUN = 20


def mark_compliance_changed(*, tenant_id: int, at: dt.datetime | None = None) -> None:
    """Say the tenant's compliance snapshot is out of date (the worker refreshes it on its
    next run). One UPDATE of one row, inside the caller's transaction; nothing when the
    tenant has no snapshot yet (readers compute live until the first one)."""
    ComplianceSnapshot.objects.filter(tenant_id=tenant_id).update(changed_at=at or timezone.now())


def refresh_compliance_snapshot(
    *, actor: Principal, tenant_id: int, now: dt.datetime | None = None
) -> ComplianceSnapshot:
    """Compute the tenant's compliance at ``now`` over all its active devices and store
    every device's standing (decision 0048). Derived data, like the states' sync: not
    audited. A change recorded while it computes (``changed_at`` after ``now``) leaves the
    snapshot stale, so the next run takes it again."""
    del actor  # the system's work; kept for the services' signature
    now = now or timezone.now()
    started = time.perf_counter()
    with within_tenant(tenant_id):
        found = queries.compliance_for_tenant(tenant_id, now)
        rows = [compliance.result_row(r) for r in found.devices]
        key = queries.snapshot_key(found.settings, found.evaluation.options)
        with transaction.atomic():
            snapshot, _ = ComplianceSnapshot.objects.update_or_create(
                tenant_id=tenant_id,
                defaults={
                    "computed_at": now,
                    "settings_key": key,
                    "device_results": rows,
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
    return snapshot


def refresh_due_compliance_snapshots(
    *, actor: Principal, now: dt.datetime | None = None, limit: int = SNAPSHOT_TENANTS_PER_RUN
) -> list[int]:
    """Refresh the snapshots that are due: tenants with active devices and none yet, those
    marked changed, and those older than :data:`SNAPSHOT_MAX_AGE`; at most ``limit``, in
    that order (oldest first). Returns the tenants refreshed."""
    now = now or timezone.now()
    with system_context("patching: compliance snapshots due"):
        with_devices = set(
            Device.objects.filter(status="active")
            .values_list("tenant_id", flat=True)
            .distinct()
            .order_by()
        )
        held = {
            tenant_id: (computed_at, changed_at)
            for tenant_id, computed_at, changed_at in ComplianceSnapshot.objects.values_list(
                "tenant_id", "computed_at", "changed_at"
            )
        }
    due: list[tuple[int, dt.datetime, int]] = []
    for tenant_id in with_devices | set(held):
        if tenant_id not in held:
            due.append((0, dt.datetime.min.replace(tzinfo=dt.UTC), tenant_id))
            continue
        computed_at, changed_at = held[tenant_id]
        if changed_at is not None and changed_at > computed_at:
            due.append((1, computed_at, tenant_id))
        elif now - computed_at >= SNAPSHOT_MAX_AGE:
            due.append((2, computed_at, tenant_id))
    refreshed = []
    for _, _, tenant_id in sorted(due)[:limit]:
        refresh_compliance_snapshot(actor=actor, tenant_id=tenant_id, now=timezone.now())
        refreshed.append(tenant_id)
    return refreshed

"""Patch compliance snapshots (decision 0048): each tenant's compliance computed by the
worker and stored, so the compliance pages, API and CSV read one row instead of computing
over every device on each request. Derived data, like the update states' sync: not
audited. Patching's other services mark a tenant changed through
:func:`mark_compliance_changed`; the periodic task refreshes what is due."""

from __future__ import annotations

import datetime as dt
import json
import time

from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from tandem.assets.models import Device
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import compliance, queries
from tandem.patching.models import ComplianceSnapshot, ComplianceStanding, PatchingSettings

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
        chosen, options, evaluations = judge_every_preset(tenant_id, now)
        presets: dict[str, object] = {}
        standings: list[dict[str, object]] = []
        for evaluation in evaluations:
            preset = evaluation.rule.preset
            presets[preset] = {
                "key": queries.snapshot_key(chosen, evaluation.options),
                "totals": compliance.totals_json(evaluation),
            }
            standings.extend(
                _standing(tenant_id, preset, at, result)
                for at, result in enumerate(evaluation.devices)
            )
        with transaction.atomic():
            snapshot, _ = ComplianceSnapshot.objects.update_or_create(
                tenant_id=tenant_id,
                defaults={
                    "computed_at": now,
                    "presets": presets,
                    "devices": len(evaluations[0].devices),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            _replace_standings(tenant_id, standings)
    return snapshot


def judge_every_preset(
    tenant_id: int, now: dt.datetime
) -> tuple[PatchingSettings, compliance.Options, list[compliance.Evaluation]]:
    """The tenant's compliance at ``now`` under every preset (``custom`` with the tenant's
    days), from one fetch of the devices and of the states that can move a figure under
    any of them (decision 0048, amended): what the live computation gives under each."""
    chosen = queries.compliance_settings(tenant_id)
    days = chosen.compliance_days
    rules = [compliance.rule_for(preset, days) for preset in compliance.Preset.VALUES]
    options, devices, states = queries.compliance_inputs(tenant_id, now, chosen, rules)
    return chosen, options, compliance.evaluate_under(devices, states, now, options, rules)


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


def _standing(
    tenant_id: int, preset: str, position: int, result: compliance.DeviceResult
) -> dict[str, object]:
    """A device's result under ``preset`` as its standings row's values, by column
    attribute (named as the result's fields). Plain values, not a model instance: building
    40,000 instances (every preset) cost more CPU than writing them."""
    values: dict[str, object] = {name: getattr(result, name) for name in compliance.RESULT_FIELDS}
    values.update(
        tenant_id=tenant_id,
        preset=preset,
        position=position,
        overdue_total=sum(result.overdue.values()),
        patched=sum(map(len, result.to_patch.values()))
        + sum(map(len, result.to_patch_from_detection.values())),
    )
    return values


def _replace_standings(tenant_id: int, standings: list[dict[str, object]]) -> None:
    """Replace the tenant's standings whole (they are the snapshot's, judged at its time).
    On PostgreSQL by ``COPY`` of the plain values: 10,000 rows of ~25 columns took seconds
    through ``bulk_create`` (a field conversion and a placeholder per value, one statement
    to parse per 2,000 rows), most of it spent in Django, not in the database."""
    ComplianceStanding.objects.filter(tenant_id=tenant_id).delete()
    if connection.vendor != "postgresql":
        rows = [ComplianceStanding(**values) for values in standings]
        ComplianceStanding.objects.bulk_create(rows, batch_size=2000)
        return
    meta = ComplianceStanding._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(str(f.column)) for f in columns)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN"
    stamp = timezone.now()
    # A device's durations are one object shared by its rows under every preset (they do
    # not depend on the rule): dumped once. The rows keep them alive, so ids stay unique.
    dumped: dict[int, str] = {}

    def as_json(value: object) -> str:
        text = dumped.get(id(value))
        if text is None:
            text = dumped[id(value)] = json.dumps(value)
        return text

    # Each column's value as COPY takes it: JSON as its text, the time stamps now.
    picks = [
        (lambda row, name=f.attname: as_json(row[name]))
        if isinstance(f, JSONField)
        else (lambda row: stamp)
        if f.attname in ("created_at", "updated_at")
        else (lambda row, name=f.attname: row[name])
        for f in columns
    ]
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for standing in standings:
            copy.write_row([pick(standing) for pick in picks])

"""Patch compliance snapshots (decision 0048): each tenant's compliance computed by the
worker and stored, so the compliance pages, API and CSV read one row instead of computing
over every device on each request. Derived data, like the update states' sync: not
audited. Patching's other services mark a tenant changed through
:func:`mark_compliance_changed`; the periodic task refreshes what is due."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, JSONField
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from tandem.assets.models import Device
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import compliance, queries
from tandem.patching.models import (
    ComplianceDevice,
    ComplianceSnapshot,
    ComplianceStanding,
    PatchingSettings,
)

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
    every device's standing (decision 0048): only the rows whose values changed are
    written, the new devices' inserted and the retired ones' deleted. Derived data, like
    the states' sync: not audited. A change recorded while it computes (``changed_at``
    after ``now``) leaves the snapshot stale, so the next run takes it again."""
    del actor  # the system's work; kept for the services' signature
    now = now or timezone.now()
    started = time.perf_counter()
    with within_tenant(tenant_id):
        chosen, options, evaluations = judge_every_preset(tenant_id, now)
        presets: dict[str, object] = {
            evaluation.rule.preset: {
                "key": queries.snapshot_key(chosen, evaluation.options),
                "totals": compliance.totals_json(evaluation),
            }
            for evaluation in evaluations
        }
        devices: dict[tuple[object, ...], dict[str, object]] = {
            (result.device_id,): _device_values(tenant_id, result)
            for result in evaluations[0].devices
        }
        standings: dict[tuple[object, ...], dict[str, object]] = {
            (evaluation.rule.preset, result.device_id): _standing_values(
                tenant_id, evaluation.rule.preset, result
            )
            for evaluation in evaluations
            for result in evaluation.devices
        }
        with transaction.atomic():
            # The snapshot's row first: its lock makes a second refresh of the tenant wait
            # here, so it compares with what this one wrote.
            snapshot, _ = ComplianceSnapshot.objects.update_or_create(
                tenant_id=tenant_id,
                defaults={
                    "computed_at": now,
                    "presets": presets,
                    "devices": len(devices),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            stamp = timezone.now()
            gone = _write_changes(_DEVICES, tenant_id, devices, stamp)
            _delete(ComplianceStanding, _write_changes(_STANDINGS, tenant_id, standings, stamp))
            # A retired device's standings went just above; its own row goes last.
            _delete(ComplianceDevice, gone)
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


# --- Storing the standings: only what changed (decision 0048, amended 2026-12-07) --------------


@dataclass(frozen=True)
class _Table:
    """A snapshot table as a refresh writes it: ``key`` names a row within the tenant,
    ``columns`` are written in this order (every concrete column but an automatic key,
    the time stamps and the digest)."""

    model: type[ComplianceDevice] | type[ComplianceStanding]
    key: tuple[str, ...]

    @property
    def columns(self) -> list[Field[Any, Any]]:
        skipped = {"created_at", "updated_at", "digest"}
        return [
            f
            for f in self.model._meta.concrete_fields
            if f.attname not in skipped and not isinstance(f, AutoFieldMixin)
        ]


_DEVICES = _Table(ComplianceDevice, ("device_id",))
_STANDINGS = _Table(ComplianceStanding, ("preset", "device_id"))


def _device_values(tenant_id: int, result: compliance.DeviceResult) -> dict[str, object]:
    """What every preset judges alike of a device (``ComplianceDevice``'s columns, by
    attribute name)."""
    values: dict[str, object] = {
        name: getattr(result, name)
        for name in compliance.RESULT_FIELDS
        if name not in compliance.RULE_FIELDS
    }
    values.update(
        tenant_id=tenant_id,
        patched=sum(map(len, result.to_patch.values()))
        + sum(map(len, result.to_patch_from_detection.values())),
    )
    return values


def _standing_values(
    tenant_id: int, preset: str, result: compliance.DeviceResult
) -> dict[str, object]:
    """What ``preset`` makes of a device (``ComplianceStanding``'s columns, by attribute
    name). Plain values, not a model instance: building 40,000 instances (every preset)
    cost more CPU than writing them."""
    values: dict[str, object] = {
        f"overdue_{severity}": result.overdue[severity] for severity in compliance.SEVERITIES
    }
    values.update(
        tenant_id=tenant_id,
        device_id=result.device_id,
        preset=preset,
        current=result.current,
        sort_name=result.name.lower().encode(),
        overdue_total=sum(result.overdue.values()),
        oldest_overdue_since=result.oldest_overdue_since,
        sla_met=result.sla_met,
        sla_missed=result.sla_missed,
    )
    return values


def _digest(row: Sequence[object]) -> int:
    """A 64-bit hash of a row's values: of their ``repr`` (the same values give the same
    text in every process, unlike ``hash``), the durations (the only mappings) packed as
    binary floats, which costs a tenth of writing them out. Two different rows have the
    same digest with a chance of 2**-64: the refresh would then leave the old row, once."""
    parts: list[bytes] = []
    for value in row:
        if isinstance(value, dict):
            for severity, days in value.items():
                parts.append(f"{severity!r}:{len(days)}:".encode())
                parts.append(array("d", days).tobytes())
            parts.append(b"}")
        else:
            parts.append(repr(value).encode())
        parts.append(b",")
    found = hashlib.blake2b(b"".join(parts), digest_size=8).digest()
    return int.from_bytes(found, "big", signed=True)


def _write_changes(
    table: _Table,
    tenant_id: int,
    rows: dict[tuple[object, ...], dict[str, object]],
    stamp: dt.datetime,
) -> list[object]:
    """Make the tenant's rows of ``table`` hold ``rows`` (by key), writing only the
    difference: new keys inserted, rows whose digest differs updated (``updated_at`` then
    moves; an unchanged row is not touched at all). Returns the primary keys of the stored
    rows whose key is gone, for the caller to delete."""
    model, columns = table.model, table.columns
    pk = model._meta.pk
    assert pk is not None
    stored = {
        tuple(held[1:-1]): (held[0], held[-1])
        for held in model.objects.filter(tenant_id=tenant_id)
        .values_list("pk", *table.key, "digest")
        .order_by()
        .iterator(chunk_size=5000)
    }
    inserts: list[list[Any]] = []
    updates: list[list[Any]] = []
    for key, values in rows.items():
        row = [values[f.attname] for f in columns]
        digest = _digest(row)
        held = stored.pop(key, None)
        if held is None:
            inserts.append([*row, digest, stamp, stamp])
        elif held[1] != digest:
            updates.append([held[0], *row, digest, stamp])
    names = [str(f.column) for f in columns] + ["digest"]
    if connection.vendor == "postgresql":
        # JSON as COPY takes it: its text (only for the rows written).
        # An update's row starts with the primary key.
        dumped = [at for at, f in enumerate(columns) if isinstance(f, JSONField)]
        for written, skip in ((inserts, 0), (updates, 1)):
            for row in written:
                for at in dumped:
                    row[at + skip] = json.dumps(row[at + skip])
        _copy(model._meta.db_table, [*names, "created_at", "updated_at"], inserts)
        _update_from_copy(model._meta.db_table, str(pk.column), names, updates)
    else:
        _execute_rows(model, columns, names, inserts, updates)
    return [pk_value for pk_value, _ in stored.values()]


def _copy(table: str, names: list[str], rows: list[list[Any]]) -> None:
    """``COPY`` the rows in (PostgreSQL): one statement whatever their number."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(map(quote, names))}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _update_from_copy(table: str, pk: str, names: list[str], rows: list[list[Any]]) -> None:
    """Update the rows (each: primary key, the ``names`` values, ``updated_at``) set-based
    on PostgreSQL: ``COPY`` into a temporary table of the same columns, one ``UPDATE ...
    FROM`` it, the temporary table dropped."""
    if not rows:
        return
    quote = connection.ops.quote_name
    changed = f"{table}_changed"
    every = [*names, "updated_at"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(changed)} ON COMMIT DROP AS "  # noqa: S608 - names from models
            f"SELECT {quote(pk)} AS changed_key, {', '.join(map(quote, every))} "
            f"FROM {quote(table)} WITH NO DATA"
        )
        _copy(changed, ["changed_key", *every], rows)
        assignments = ", ".join(f"{quote(n)} = c.{quote(n)}" for n in every if n != pk)
        cursor.execute(
            f"UPDATE {quote(table)} t SET {assignments} FROM {quote(changed)} c "  # noqa: S608
            f"WHERE t.{quote(pk)} = c.changed_key"
        )
        cursor.execute(f"DROP TABLE {quote(changed)}")


def _execute_rows(
    model: type[ComplianceDevice] | type[ComplianceStanding],
    columns: list[Field[Any, Any]],
    names: list[str],
    inserts: list[list[Any]],
    updates: list[list[Any]],
) -> None:
    """Insert and update the rows by plain statements (SQLite), each value as the column's
    field prepares it."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None

    def prepared(row: list[Any]) -> list[Any]:
        values = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(columns, row, strict=False)
        ]
        stamps = [connection.ops.adapt_datetimefield_value(v) for v in row[len(columns) + 1 :]]
        return [*values, row[len(columns)], *stamps]

    with connection.cursor() as cursor:
        if inserts:
            every = [*names, "created_at", "updated_at"]
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(map(quote, every))}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(every))})",
                [prepared(row) for row in inserts],
            )
        if updates:
            assignments = ", ".join(f"{quote(n)} = %s" for n in [*names, "updated_at"])
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {quote(str(pk.column))} = %s",  # noqa: S608
                [[*prepared(row[1:]), row[0]] for row in updates],
            )


def _delete(
    model: type[ComplianceDevice] | type[ComplianceStanding], keys: Sequence[object]
) -> None:
    """Delete the rows with these primary keys, a batch at a time."""
    for start in range(0, len(keys), 2000):
        model.objects.filter(pk__in=keys[start : start + 2000]).delete()

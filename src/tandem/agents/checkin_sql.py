"""The full check-in's device read and its row writes in plain SQL (decision 0049).

Through the ORM, a first inventory's device read, report insert and device and state
updates cost ~8 ms of the web process's CPU (a queryset built, compiled and turned into
instances per statement); here each is one short statement whose text comes from the
models' tables and columns and whose values are parameters, adapted by each model field's
own ``get_db_prep_save`` (binary, UUID, datetime: the very types the ORM would send, on
SQLite and PostgreSQL alike). As in the unchanged lane (decision 0039), nothing is
compiled from a queryset with stand-in ids.

**Scope.** These statements bypass the tenant managers, so each names the row by its
primary key *and* its tenant, both taken from the device the check-in's credential came
with, never from the request: a device principal reaches only its own rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from django.db import connection, models
from django.utils import timezone

from tandem.agents.models import AgentReport
from tandem.assets.models import Device

#: The device's columns a check-in that applies an inventory compares or writes.
DEVICE_COLUMNS = (
    "last_seen_at",
    "inventory_hash",
    "reboot_pending",
    "hostname",
    "serial_number",
    "os_family",
    "os_name",
    "os_version",
    "kernel",
    "architecture",
)


def _quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _fields(model: type[Any], names: Any) -> list[models.Field[Any, Any]]:
    """``model``'s concrete fields of ``names`` (none is a reverse relation)."""
    return [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names]


def _columns(fields: list[models.Field[Any, Any]]) -> str:
    return ", ".join(_quote(str(field.column)) for field in fields)


@contextmanager
def bound_cursor() -> Iterator[Any]:
    """A cursor for the check-in's plain statements. On PostgreSQL it binds values on the
    server: Django's cursor binds them into the text on the client, quoting value by value,
    so the state's packed document (~40 KB) travelled as ~80 KB of hex the server then
    parsed (0.5 ms of its CPU and 0.15 ms of the web process's per first inventory;
    decision 0049, fourth round). Wrapped as Django wraps its own (error translation, the
    query log), as the unchanged lane's is. Elsewhere, Django's own cursor."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:  # type: ignore[attr-defined]
        yield cursor


def read_device(device: Device) -> None:
    """Read :data:`DEVICE_COLUMNS` of ``device`` again into the instance (it came with
    the credential, before the state's lock; what the inventory is compared with must be
    read under it). SQLite hands datetimes back without their zone (UTC, as stored) and
    may hand booleans back as integers: both are made what the ORM would give."""
    meta = Device._meta
    columns = _columns(_fields(Device, DEVICE_COLUMNS))
    with bound_cursor() as cursor:
        cursor.execute(
            # Table and column names come from the model, values are parameters.
            f"SELECT {columns} FROM {_quote(meta.db_table)} "  # noqa: S608
            "WHERE id = %s AND tenant_id = %s",
            [device.pk, device.tenant_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Device.DoesNotExist  # as ``Device.objects.get`` would: the device is gone
    values = dict(zip(DEVICE_COLUMNS, row, strict=True))
    seen = values["last_seen_at"]
    if seen is not None and timezone.is_naive(seen):
        values["last_seen_at"] = timezone.make_aware(seen, dt.UTC)
    if values["reboot_pending"] is not None:
        values["reboot_pending"] = bool(values["reboot_pending"])
    for name, value in values.items():
        setattr(device, name, value)


def update_row(model: type[Any], *, pk: int, tenant_id: int, values: dict[str, Any]) -> None:
    """``UPDATE`` one row of ``model`` (its id and tenant) setting ``values`` (field name
    → value), each adapted by its field as the ORM's ``update`` would."""
    meta = model._meta
    fields = _fields(model, values)
    assignments = ", ".join(f"{_quote(str(field.column))} = %s" for field in fields)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values.values(), strict=True)
    ]
    with bound_cursor() as cursor:
        cursor.execute(
            # Table and column names come from the model, values are parameters.
            f"UPDATE {_quote(meta.db_table)} SET {assignments} "  # noqa: S608
            "WHERE id = %s AND tenant_id = %s",
            [*params, pk, tenant_id],
        )


def insert_reports(
    device: Device, taken: list[tuple[uuid.UUID, int, str]], now: dt.datetime
) -> None:
    """Record the reports taken (report id, sequence, kind) for ``device``: one multi-row
    ``INSERT`` (a check-in carries at most ``MAX_REPORTS``). A report id taken before
    breaks ``agents_report_once`` and raises ``IntegrityError``, as ``bulk_create`` did."""
    if not taken:
        return
    meta = AgentReport._meta
    names = (
        "created_at",
        "updated_at",
        "tenant",
        "device",
        "report_id",
        "sequence",
        "kind",
        "received_at",
    )
    fields = _fields(AgentReport, names)
    columns = _columns(fields)
    per_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    params = [
        field.get_db_prep_save(value, connection)
        for report_id, sequence, kind in taken
        for field, value in zip(
            fields,
            (now, now, device.tenant_id, device.pk, report_id, sequence, kind, now),
            strict=True,
        )
    ]
    with bound_cursor() as cursor:
        cursor.execute(
            # Table and column names come from the model, values are parameters.
            f"INSERT INTO {_quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
            + ", ".join([per_row] * len(taken)),
            params,
        )

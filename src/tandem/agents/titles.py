"""Software titles (decision 0043): each distinct package a tenant's devices report is one
``SoftwareTitle`` row, and a device's inventory is its (device, title) pairs.

The check-in resolves a document's packages to title ids here, set-based, in SQL: one
lookup by key for the whole document, an insert of only the titles the tenant has never
seen, and the device's narrow rows written with ``COPY`` (PostgreSQL) or multi-row
``INSERT``. Raw SQL does not pass the tenant managers, so the rule is carried here as in
the rest of the check-in's writes: every ``tenant_id`` and ``device_id`` comes from the
device row the credential reached, never from the body, and every title read is narrowed
to that tenant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from django.db import connection, models

from tandem.agents.models import TITLE_FIELDS, InstalledSoftware, SoftwareTitle
from tandem.agents.normalise import SoftwareRow
from tandem.assets.models import Device

#: Rows per statement on SQLite (each title row binds ten values; SQLite allows 32,766).
_BATCH = 500
#: From this many rows on, a device's new rows go in with PostgreSQL's ``COPY``.
COPY_FROM = 50


def title_key(item_id: str, row: SoftwareRow) -> str:
    """The title's key: 128 bits of BLAKE2b over an unambiguous encoding of the item id and
    the package's five values (JSON: no separator a value could forge), as 32 hex digits.
    A collision would let one package stand for another, so the digest is cryptographic."""
    return hashlib.blake2b(orjson.dumps((item_id, *row)), digest_size=16).hexdigest()


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _keys_param(keys: list[str]) -> tuple[str, list[Any]]:
    """SQL matching ``key`` against ``keys`` and its parameters: one array on PostgreSQL,
    a list of placeholders elsewhere (called with at most ``_BATCH`` keys there)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s::uuid[])", [keys]
    return "IN (" + ", ".join(["%s"] * len(keys)) + ")", list(keys)


def _key_column() -> str:
    # PostgreSQL answers a uuid as its dashed text; the keys here are plain hex.
    return "replace(key::text, '-', '')" if connection.vendor == "postgresql" else "key"


def _chunks(keys: list[str]) -> Iterable[list[str]]:
    size = len(keys) if connection.vendor == "postgresql" else _BATCH
    for start in range(0, len(keys), max(size, 1)):
        yield keys[start : start + size]


def _known(tenant_id: int, keys: list[str]) -> dict[str, int]:
    """Title ids by key, for the keys the tenant already has."""
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            match, params = _keys_param(chunk)
            cursor.execute(
                # Table names come from the model, values are parameters.
                f"SELECT {_key_column()}, id FROM {_table(SoftwareTitle)} "  # noqa: S608
                f"WHERE tenant_id = %s AND key {match}",
                [tenant_id, *params],
            )
            found.update(cursor.fetchall())
    return found


#: The title table's columns an insert names (each field's column is its name).
_TITLE_COLUMNS = ("created_at", "updated_at", "tenant_id", "key", *TITLE_FIELDS)


def _create(
    tenant_id: int, new: list[tuple[str, str, SoftwareRow]], now: dt.datetime
) -> dict[str, int]:
    """Insert titles (key, item id, row) the tenant lacks, in key order (two check-ins of a
    tenant adding the same titles take their locks in the same order: no deadlock); a
    title another check-in inserted meanwhile is skipped here and read afterwards."""
    columns = ", ".join(connection.ops.quote_name(name) for name in _TITLE_COLUMNS)
    stamp = connection.ops.adapt_datetimefield_value(now)
    new = sorted(new)
    created: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {_table(SoftwareTitle)} ({columns}) "  # noqa: S608
                "SELECT %s, %s, %s, u.* FROM unnest("
                "%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
                "%s::text[]) AS u(k, i, n, v, a, s, sv) ORDER BY u.k "
                f"ON CONFLICT (tenant_id, key) DO NOTHING RETURNING {_key_column()}, id",
                [
                    stamp,
                    stamp,
                    tenant_id,
                    [key for key, _, _ in new],
                    [item for _, item, _ in new],
                    *([row[i] for _, _, row in new] for i in range(5)),
                ],
            )
            created.update(cursor.fetchall())
            return created
        per_row = "(" + ", ".join(["%s"] * 10) + ")"
        for start in range(0, len(new), _BATCH):
            batch = new[start : start + _BATCH]
            cursor.execute(
                f"INSERT INTO {_table(SoftwareTitle)} ({columns}) VALUES "  # noqa: S608
                + ", ".join([per_row] * len(batch))
                + " ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key, id",
                [v for key, item, row in batch for v in (stamp, stamp, tenant_id, key, item, *row)],
            )
            created.update(cursor.fetchall())
    return created


def title_ids(
    *, tenant_id: int, rows: Mapping[str, SoftwareRow], now: dt.datetime
) -> dict[str, int]:
    """The title id of each package (item id → id), creating the titles the tenant has
    never seen. One lookup for all; inserts only for what is new to the tenant."""
    keyed = {item_id: title_key(item_id, row) for item_id, row in rows.items()}
    found = _known(tenant_id, list(set(keyed.values())))
    if len(found) < len(set(keyed.values())):
        new = {key: (key, item, rows[item]) for item, key in keyed.items() if key not in found}
        found.update(_create(tenant_id, list(new.values()), now))
        late = [key for key in new if key not in found]
        if late:  # inserted by another check-in of the tenant since the lookup
            found.update(_known(tenant_id, late))
    return {item_id: found[key] for item_id, key in keyed.items()}


def add_software(*, device: Device, title_ids: Iterable[int]) -> None:
    """Give ``device`` these titles: one ``COPY`` on PostgreSQL for a first inventory,
    multi-row ``INSERT`` otherwise; three integers a row."""
    ids = sorted(set(title_ids))
    if not ids:
        return
    table = _table(InstalledSoftware)
    if connection.vendor == "postgresql" and len(ids) >= COPY_FROM:
        prefix = f"{device.tenant_id}\t{device.pk}\t"
        text = "".join([f"{prefix}{title_id}\n" for title_id in ids]).encode()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} (tenant_id, device_id, title_id) FROM STDIN") as copy,
        ):
            copy.write(text)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, device_id, title_id) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s)"] * len(batch)),
                [v for title_id in batch for v in (device.tenant_id, device.pk, title_id)],
            )


def remove_software(*, device: Device, rows: Mapping[str, SoftwareRow]) -> None:
    """Take these packages (item id → the row held) off ``device``: its rows whose title
    has the rows' keys, in the device's tenant."""
    keys = sorted({title_key(item_id, row) for item_id, row in rows.items()})
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            match, params = _keys_param(chunk)
            cursor.execute(
                f"DELETE FROM {_table(InstalledSoftware)} WHERE device_id = %s "  # noqa: S608
                f"AND title_id IN (SELECT id FROM {_table(SoftwareTitle)} "
                f"WHERE tenant_id = %s AND key {match})",
                [device.pk, device.tenant_id, *params],
            )

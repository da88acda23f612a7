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
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from django.db import connection, models, transaction

from tandem.agents.models import TITLE_FIELDS, InstalledSoftware, SoftwareTitle, TitleGeneration
from tandem.agents.normalise import SoftwareRow
from tandem.agents.title_cache import CACHE, Row, resolve
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
        return "= ANY(%s::uuid[])", [_uuid_array(keys)]
    return "IN (" + ", ".join(["%s"] * len(keys)) + ")", list(keys)


def _uuid_array(keys: list[str]) -> str:
    """``keys`` as one PostgreSQL array literal: psycopg adapts a list value by value (~2 µs a
    key, 3 ms of a 1,700-package inventory; decision 0049). The keys are 32 hex digits
    (:func:`title_key`), so the literal needs no quoting."""
    return "{" + ",".join(keys) + "}"


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
        if connection.vendor == "postgresql":
            # Answered by position in ``keys`` (1-based), not by key: turning each uuid back
            # into text cost the database a third of the lookup. One probe of the unique
            # (tenant, key) index per key, whatever the statistics say: as a join, with the
            # statistics of a table that had just grown (a tenant enrolling its fleet), the
            # planner read all the tenant's titles to find a first inventory's few new keys
            # (1.5 ms a check-in; decision 0049, fourth round). A key not found answers NULL.
            cursor.execute(
                # The table name comes from the model, values are parameters.
                f"SELECT u.n, (SELECT t.id FROM {_table(SoftwareTitle)} t "  # noqa: S608
                "WHERE t.tenant_id = %s AND t.key = u.k) "
                "FROM unnest(%s::uuid[]) WITH ORDINALITY AS u(k, n)",
                [tenant_id, _uuid_array(keys)],
            )
            return {
                keys[n - 1]: title_id for n, title_id in cursor.fetchall() if title_id is not None
            }
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


#: The advisory lock (namespace, tenant) between check-ins giving devices titles (shared)
#: and the purge of titles no device holds (exclusive): PostgreSQL only.
_TITLE_LOCK = 430_049


def _lock_key(tenant_id: int) -> int:
    # pg_advisory_xact_lock(int, int): two tenants sharing a key only wait for each other.
    return tenant_id % 2**31


def _hold_titles(tenant_id: int) -> int | None:
    """Keep the tenant's titles from being purged until this transaction ends, and answer
    the tenant's title generation (None when the tenant has none yet; decision 0049).
    Titles have no foreign key from ``InstalledSoftware`` (decision 0043), so without the
    lock a purge could delete a title between this check-in's lookup and its commit,
    leaving rows that point at nothing. On PostgreSQL the generation is read in a statement
    of its own *after* the lock's: a statement's snapshot is taken before a lock inside it
    is granted, so read with the lock it could predate a purge that committed while the
    check-in waited, and the cache would answer ids that purge deleted. On SQLite every
    write transaction is ``BEGIN IMMEDIATE`` (settings): the purge and a check-in never
    overlap, and the read sees every purge before it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [_TITLE_LOCK, _lock_key(tenant_id)]
            )
        cursor.execute(
            f"SELECT value FROM {_table(TitleGeneration)} WHERE tenant_id = %s",  # noqa: S608
            [tenant_id],
        )
        row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        # The tenant's first titles: its generation starts at random (a tenant id used
        # again never meets an old cache). Another check-in may make it first: then this
        # one caches nothing.
        cursor.execute(
            f"INSERT INTO {_table(TitleGeneration)} (tenant_id, value) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (tenant_id) DO NOTHING RETURNING value",
            [tenant_id, secrets.randbits(62)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def delete_unheld(titles: list[tuple[int, int]]) -> int:
    """Delete those of ``titles`` (id, tenant id) that no device holds; returns how many.
    One transaction holding each tenant's title lock exclusively (tenants in order, so two
    purges cannot deadlock): every check-in that looked titles up has committed its rows
    before the ``DELETE`` takes its snapshot, and any later one waits, then finds the
    title gone and inserts it again."""
    if not titles:
        return 0
    ids = sorted(title_id for title_id, _ in titles)
    params: list[Any]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for tenant_id in sorted({_lock_key(tenant_id) for _, tenant_id in titles}):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_TITLE_LOCK, tenant_id])
            match, params = "= ANY(%s::bigint[])", [ids]
        else:  # at most ``PURGE_TITLES_BATCH`` ids: well within SQLite's parameter limit
            match, params = "IN (" + ", ".join(["%s"] * len(ids)) + ")", ids
        cursor.execute(
            f"DELETE FROM {_table(SoftwareTitle)} WHERE id {match} AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {_table(InstalledSoftware)} i "
            f"WHERE i.title_id = {_table(SoftwareTitle)}.id) RETURNING tenant_id",
            params,
        )
        deleted = [tenant_id for (tenant_id,) in cursor.fetchall()]
        tenants = sorted(set(deleted))
        if tenants:
            # In the deleting transaction: no check-in reads the old generation after
            # this commits, so no cache answers a deleted title (decision 0049).
            cursor.execute(
                f"UPDATE {_table(TitleGeneration)} SET value = value + 1 "  # noqa: S608
                "WHERE tenant_id IN (" + ", ".join(["%s"] * len(tenants)) + ")",
                tenants,
            )
        return len(deleted)


def title_ids(
    *, tenant_id: int, rows: Mapping[str, SoftwareRow], now: dt.datetime
) -> dict[str, int]:
    """The title id of each package (item id → id), creating the titles the tenant has
    never seen. Packages this process resolved before at the tenant's current generation
    come from ``title_cache``; the others take one lookup, and inserts only for what is new
    to the tenant; what they found is cached once the caller's transaction commits. The
    tenant's titles are held from purging until that transaction ends (decision 0049)."""
    generation = _hold_titles(tenant_id)
    ids, missing = resolve(CACHE.get(tenant_id, generation) if generation is not None else {}, rows)
    if not missing:
        return ids
    keyed = {item_id: title_key(item_id, row) for item_id, row in missing.items()}
    found = _known(tenant_id, list(set(keyed.values())))
    if len(found) < len(set(keyed.values())):
        new = {key: (key, item, missing[item]) for item, key in keyed.items() if key not in found}
        found.update(_create(tenant_id, list(new.values()), now))
        late = [key for key in new if key not in found]
        if late:  # inserted by another check-in of the tenant since the lookup
            found.update(_known(tenant_id, late))
    learned = {item_id: found[key] for item_id, key in keyed.items()}
    ids.update(learned)
    if generation is not None:
        titled: dict[tuple[str, Row], int] = {
            (item_id, missing[item_id]): title_id for item_id, title_id in learned.items()
        }
        transaction.on_commit(lambda: CACHE.fill(tenant_id, generation, titled), robust=True)
    return ids


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

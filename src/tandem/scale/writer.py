"""Bulk writing of generated rows: PostgreSQL ``COPY`` through psycopg 3, SQLite
``executemany``, both inside the caller's transaction.

Rows come from ``tickets.run_job`` in the column order below, with times already in the
database's text form (``tickets.Stamps``): for PostgreSQL as COPY text, for SQLite as tuples
(Django keeps SQLite datetimes as ``2026-01-31 08:00:00`` UTC text, which they match, so
range comparisons on the text keep working).

Ticket ids are reserved up front (the children need them); every other table takes its ids
from the database.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connection

from tandem.scale.tickets import TABLE_NAMES, Output, Stamps

TICKET = "servicedesk.Ticket"
#: Per generated table: its model and the columns written, in the generator's order (tickets
#: with their reserved ids; the other tables take ids from the database).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tickets": (
        TICKET,
        (
            "id", "created_at", "updated_at", "tenant_id", "number", "requester_id", "subject",
            "description", "category_id", "service_area_id", "impact", "urgency", "priority",
            "status", "party_id", "assignee_id", "site_id", "asset_group_id", "tags",
            "parent_id", "merged_into_id", "follow_up_of_id", "via", "routing_reason",
            "routing_row_id",
            "first_response_due",
            "next_update_due", "resolution_due", "sla_state", "first_responded_at",
            "resolved_at", "closed_at", "satisfaction", "satisfaction_comment", "source",
        ),
    ),
    "events": (
        "servicedesk.TicketEvent",
        (
            "created_at", "updated_at", "tenant_id", "ticket_id", "at", "kind", "status",
            "party_id", "priority", "actor_label", "detail",
        ),
    ),
    "comments": (
        "servicedesk.Comment",
        (
            "created_at", "updated_at", "tenant_id", "ticket_id", "author_id", "author_label",
            "party_id", "visibility", "body", "via", "message_id",
        ),
    ),
    "time_entries": (
        "servicedesk.TimeEntry",
        (
            "created_at", "updated_at", "tenant_id", "ticket_id", "user_id", "party_id",
            "service_area_id", "work_date", "minutes", "billable", "note",
        ),
    ),
    "handoffs": (
        "servicedesk.Handoff",
        (
            "created_at", "updated_at", "tenant_id", "ticket_id", "from_party_id", "to_party_id",
            "reason", "at", "actor_id", "is_ping_pong",
        ),
    ),
    "watchers": ("servicedesk.Ticket.watchers", ("ticket_id", "user_id")),
}  # fmt: skip


def _model(label: str) -> Any:
    if label.endswith(".watchers"):
        return apps.get_model(TICKET).watchers.through
    return apps.get_model(label)


def table_of(name: str) -> str:
    return str(_model(TABLES[name][0])._meta.db_table)


def unknown_columns() -> list[str]:
    """Columns of the bulk tables the generator would leave out (a model grew a field):
    it refuses to run rather than write rows the services would never write."""
    missing = []
    for _name, (label, columns) in TABLES.items():
        model = _model(label)
        for f in model._meta.concrete_fields:
            if f.column not in columns and not f.primary_key:
                missing.append(f"{model._meta.db_table}.{f.column}")
    return missing


class Writer:
    """Writes generated rows on Django's default connection, in the current transaction."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise RuntimeError(f"no bulk writer for {self.vendor}")
        self.stamps = Stamps("+00" if self.vendor == "postgresql" else "")
        self.tables = {name: table_of(name) for name in TABLES}
        self.rows = dict.fromkeys(TABLES, 0)
        self._next_sqlite_id: int | None = None
        self.skip_triggers = False

    def prepare(self) -> None:
        """Connection settings for a long bulk load.

        SQLite: a 1 GiB page cache, so the ticket table's indexes stay in memory.
        PostgreSQL: whether this connection may skip the per-row foreign-key triggers while
        it copies (``session_replication_role``, as ``pg_restore --disable-triggers`` does;
        superusers, or roles granted SET on it). Checking each reference row by row at
        commit costs more than the COPY itself; the generator writes only ids it has just
        read from the database or reserved, and the tests check every reference of the
        generated rows with set-based queries.
        """
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA cache_size = -1048576")
                return
            # Commits need not wait for the disk: a crash loses the last tenants of the run,
            # never the consistency of the database.
            cursor.execute("SET synchronous_commit = off")
            cursor.execute(
                "SELECT current_setting('is_superuser') = 'on', "
                "current_setting('server_version_num')::int"
            )
            superuser, version = cursor.fetchone()
            allowed = bool(superuser)
            if not allowed and version >= 150000:
                cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
                allowed = bool(cursor.fetchone()[0])
            self.skip_triggers = allowed

    def begin_tenant(self) -> None:
        """Inside a tenant's write transaction: skip the row triggers until it ends."""
        if self.vendor == "postgresql" and self.skip_triggers:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")

    def reserve_ticket_ids(self, count: int) -> int:
        """Reserve ``count`` consecutive ticket ids; returns the first."""
        table = self.tables["tickets"]
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                    [table, table, max(count, 1)],
                )
                last = int(cursor.fetchone()[0])
                return last - max(count, 1) + 1
            if self._next_sqlite_id is None:
                # AUTOINCREMENT: never below an id handed out before (sqlite_sequence); the
                # rows written with these ids move sqlite_sequence on. One writer (this run)
                # hands them out from here on.
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                highest = int(cursor.fetchone()[0])
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                self._next_sqlite_id = max(highest, int(row[0]) if row else 0) + 1
            first = self._next_sqlite_id
            self._next_sqlite_id += count
            return first

    def write(self, output: Output) -> None:
        """Write one job's rows, table by table (tickets before the rows that refer to them)."""
        quote = connection.ops.quote_name
        for name in TABLE_NAMES:
            data = output.tables[name]
            if not data:
                continue
            table = quote(self.tables[name])
            columns = TABLES[name][1]
            names = ", ".join(quote(c) for c in columns)
            if self.vendor == "postgresql":
                sql = f"COPY {table} ({names}) FROM STDIN"
                with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                    copy.write(data)
            else:
                marks = ", ".join("?" * len(columns))
                connection.connection.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                    data,
                )
            self.rows[name] += output.rows[name]

    def finish(self) -> None:
        """After the run. PostgreSQL: fresh planner statistics for the bulk tables, as
        autovacuum would gather them after a large load, so the first queries are planned
        on them; the connection's settings back. SQLite: the write-ahead log folded into
        the database file (it holds the whole run otherwise)."""
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA cache_size = -2000")
                if not connection.in_atomic_block:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return
            cursor.execute("RESET synchronous_commit")
            for name in TABLES:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(self.tables[name])}")

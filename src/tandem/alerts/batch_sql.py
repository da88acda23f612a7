"""The detection hot path's set-based statement (decision 0050): the alerts a batch of
detections updated, written back in one ``UPDATE … FROM (VALUES …)`` per batch.

Django's ``bulk_update`` builds a ``CASE WHEN id = … THEN … END`` per column and row, and
compiling those expressions cost the detection worker more CPU than matching the events
(about half of its time on the bench's batches). ``UPDATE … FROM`` joins the table to a
list of rows instead: one statement, parameters only, no expression tree. PostgreSQL has
had it for ever and SQLite since 3.33 (Tandem already needs 3.35 for the desk's
``UPDATE … RETURNING``; the machines it runs on have 3.40); both name the columns of an
unaliased ``VALUES`` list ``column1``, ``column2``, …, so one statement serves both.
PostgreSQL is told each parameter's type (a ``VALUES`` list of bare parameters would be
typed as text).

The caller holds the rows' locks (``select_for_update`` in ``_collect``), so the values
written are the final ones, not increments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection

from tandem.alerts.models import Alert

#: Rows per statement: well below SQLite's limit of 32,766 parameters (5 per row).
ROWS_PER_STATEMENT = 1000


def update_collected(alerts: Iterable[Alert]) -> int:
    """Write each alert's ``open_key``, ``event_count``, ``first_seen`` and ``last_seen``
    (what ``_collect`` changes); the number of rows updated."""
    ops = connection.ops
    table = ops.quote_name(Alert._meta.db_table)
    if connection.vendor == "postgresql":
        row = "(%s::bigint, %s::varchar, %s::integer, %s::timestamptz, %s::timestamptz)"
    else:
        row = "(%s, %s, %s, %s, %s)"
    values: list[tuple[Any, ...]] = [
        (
            alert.pk,
            alert.open_key,
            alert.event_count,
            _stored(alert.first_seen),
            _stored(alert.last_seen),
        )
        for alert in alerts
    ]
    done = 0
    with connection.cursor() as cursor:
        for start in range(0, len(values), ROWS_PER_STATEMENT):
            chunk = values[start : start + ROWS_PER_STATEMENT]
            cursor.execute(
                # Table and column names from the model; every value is a parameter.
                f"UPDATE {table} SET open_key = v.column2, event_count = v.column3, "  # noqa: S608
                f"first_seen = v.column4, last_seen = v.column5 "
                f"FROM (VALUES {', '.join([row] * len(chunk))}) AS v "
                f"WHERE {table}.id = v.column1",
                [value for item in chunk for value in item],
            )
            done += cursor.rowcount
    return done


def _stored(value: dt.datetime) -> Any:
    """A datetime as the backend stores it (SQLite: text in UTC; PostgreSQL: as it is)."""
    return connection.ops.adapt_datetimefield_value(value)

"""Whether a device has a job due, as SQL for the check-in's own statements (decisions
0039 and 0049): the unchanged lane's ``NOT EXISTS`` and the full check-in's locked state
read both ask it inside a statement of their own, from this one text.

"Due" stays defined once, by ``jobs.queries.due_jobs``: the queryset is compiled to SQL
once per process, with the device and the time replaced, so neither statement can drift
from the hand-out's query.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.db import connection

from tandem.core.scoping import system_context
from tandem.jobs.queries import due_jobs

_DEVICE_PLACEHOLDER = -424242
_NOW_PLACEHOLDER = dt.datetime(2000, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@cache
def jobs_due_sql(vendor: str) -> tuple[str, tuple[Any, ...]]:
    """``jobs.queries.due_jobs`` (the one definition of "due") as SQL for an ``EXISTS``,
    with its device compared to the column ``a.device_id`` (the caller names ``a``) and its
    time left as a ``%s`` (marked by ``None`` in the returned parameters). Compiled once
    per process from the queryset itself, so it cannot drift from the hand-out's."""
    with system_context("compile the jobs-due condition of the check-in"):
        query = (
            due_jobs(device_id=_DEVICE_PLACEHOLDER, now=_NOW_PLACEHOLDER)
            .order_by()
            .values("pk")
            .query
        )
        sql, params = query.sql_with_params()
    now_marks = (_NOW_PLACEHOLDER, connection.ops.adapt_datetimefield_value(_NOW_PLACEHOLDER))
    pieces = sql.split("%s")
    if len(pieces) != len(params) + 1:
        raise RuntimeError("the jobs-due query has placeholders this module cannot map")
    out, kept = [pieces[0]], list[Any]()
    for param, piece in zip(params, pieces[1:], strict=True):
        if param == _DEVICE_PLACEHOLDER:
            out.append("a.device_id")
        elif param in now_marks:
            out.append("%s")
            kept.append(None)
        else:
            out.append("%s")
            kept.append(param)
        out.append(piece)
    if None not in kept or "a.device_id" not in out:
        raise RuntimeError("the jobs-due query no longer names the device and the time")
    return "".join(out), tuple(kept)


def jobs_due(now: Any) -> tuple[str, list[Any]]:
    sql, params = jobs_due_sql(connection.vendor)
    return sql, [now if p is None else p for p in params]

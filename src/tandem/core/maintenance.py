"""Keeping the database's query planner informed.

PostgreSQL gathers table statistics by itself (autovacuum). SQLite does not: without them its
planner guesses, and at a million tickets it guessed a provider's queue into sorting every
visible ticket (0.7 s) instead of walking the newest-first index (15 ms). ``tandem migrate``
and a daily scheduled job therefore refresh SQLite's statistics.
"""

from __future__ import annotations

from django.db import connection
from django_tasks import task


def refresh_query_statistics() -> bool:
    """Refresh the planner's statistics on SQLite (a sampled ``ANALYZE``: well under a second
    on a 3 GB database). True if it ran; PostgreSQL keeps its own and is left alone."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")
    return True


@task()
def refresh_query_statistics_task() -> bool:
    """The scheduled form of :func:`refresh_query_statistics` (``CoreConfig.schedule``)."""
    return refresh_query_statistics()

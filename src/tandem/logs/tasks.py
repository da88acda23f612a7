"""Periodic upkeep of the event archive (decision 0045), run by ``tandem worker`` from
``LogsConfig.schedule``:

- **compaction** every hour: the small part files of each recent hour (the archive worker
  writes one per batch) are merged into one file per hour, so a search opens few files;
- **retention** every day: whole hours older than each tenant's retention period are
  deleted, and every retained hour is compacted (a late event filed into an old hour is
  merged then).

Both walk the tenants that have an archive directory (a tenant's retention from its
``ArchiveSettings``, else the default). The archive functions are idempotent and
crash-safe (decision 0040), so a run cut short is finished by the next one; a failure in
one tenant's archive is logged and the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from tandem.logs import archive, queries
from tandem.logs.archive.layout import archived_tenants
from tandem.logs.models import DEFAULT_RETENTION_DAYS

log = logging.getLogger(__name__)

#: The hourly compaction looks this far back (a late batch for a recent hour is merged by
#: the next run; older hours wait for the daily pass).
RECENT = dt.timedelta(hours=48)


def compact_event_archive(*, now: dt.datetime | None = None, full: bool = False) -> int:
    """Merge the files of every finished hour (of the last 48 hours unless ``full``) of
    every tenant's archive; returns how many hours were merged."""
    now = now or timezone.now()
    merged = 0
    for tenant_id in archived_tenants(settings.LOG_ARCHIVE_DIR):
        try:
            merged += archive.compact_tenant(
                settings.LOG_ARCHIVE_DIR,
                tenant_id,
                before=now,
                after=None if full else now - RECENT,
            )
        except (OSError, ValueError):
            log.exception("compacting the event archive of tenant %s failed", tenant_id)
    return merged


def prune_event_archive(*, now: dt.datetime | None = None) -> int:
    """Delete every tenant's archived hours older than its retention period; returns how
    many hours were deleted."""
    now = now or timezone.now()
    retention = queries.retention_by_tenant()
    deleted = 0
    for tenant_id in archived_tenants(settings.LOG_ARCHIVE_DIR):
        keep = (
            retention.get(int(tenant_id), DEFAULT_RETENTION_DAYS)
            if tenant_id.isdigit()
            else DEFAULT_RETENTION_DAYS
        )
        try:
            deleted += archive.prune(settings.LOG_ARCHIVE_DIR, tenant_id, keep, now)
        except (OSError, ValueError):
            log.exception("pruning the event archive of tenant %s failed", tenant_id)
    return deleted


@task()
def compact_event_archive_task() -> int:
    """``LogsConfig.schedule``: hourly, the recent hours."""
    return compact_event_archive()


@task()
def prune_event_archive_task() -> dict[str, int]:
    """``LogsConfig.schedule``: daily, retention then a full compaction."""
    deleted = prune_event_archive()
    return {"hours_deleted": deleted, "hours_compacted": compact_event_archive(full=True)}

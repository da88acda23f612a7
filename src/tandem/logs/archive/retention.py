"""Retention: a tenant's archived events older than its retention period are deleted.

Deletion is by whole hour: an hour goes once all of it is older than ``now - keep_days``.
Each hour directory is first renamed out of the layout (one atomic step, so a search sees
the hour whole or not at all), then removed; emptied day directories go too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from datetime import datetime, timedelta

from tandem.logs.archive.layout import as_utc, existing_hours, fsync_dir, tenant_dir

MAX_KEEP_DAYS = 3650


def prune(
    base_dir: str | os.PathLike[str], tenant_id: int | str, keep_days: int, now: datetime
) -> int:
    """Delete the tenant's hours that ended ``keep_days`` days or more before ``now``.

    Returns how many hours were deleted. ``keep_days`` is the tenant's retention setting
    (a whole number of days from 1 to 3650).
    """
    if isinstance(keep_days, bool) or not isinstance(keep_days, int):
        raise ValueError("keep_days must be a whole number of days")
    if not 1 <= keep_days <= MAX_KEEP_DAYS:
        raise ValueError(f"keep_days must be from 1 to {MAX_KEEP_DAYS}")
    cutoff = as_utc(now, "now") - timedelta(days=keep_days)
    root = tenant_dir(base_dir, tenant_id)
    deleted = 0
    for hour, directory in existing_hours(base_dir, tenant_id, None, cutoff):
        if hour + timedelta(hours=1) > cutoff:
            continue
        doomed = root / f".pruned-{uuid.uuid4().hex}"
        try:
            os.rename(directory, doomed)
        except FileNotFoundError:
            continue  # pruned by a concurrent run
        fsync_dir(directory.parent)
        shutil.rmtree(doomed, ignore_errors=True)
        deleted += 1
        with contextlib.suppress(OSError):
            directory.parent.rmdir()  # only succeeds once the day is empty
    # Leftovers of a run that crashed between the rename and the removal.
    for name in os.listdir(root) if root.is_dir() else []:
        if name.startswith(".pruned-"):
            shutil.rmtree(root / name, ignore_errors=True)
    return deleted

"""The detection cache folder's cleaning (decision 0034, "The cache cleans itself").

``settings.DETECTION_CACHE_DIR`` holds the compiled packs and Hyperscan databases of every
pack version, engine version and Hyperscan that ever ran on this host; nothing else ever
removes one. :func:`clean_cache` applies the policy of the pure core
(:func:`.engine.diskcache.plan_cleanup`): files unused for ``DETECTION_CACHE_MAX_AGE_DAYS``
go, then the least recently used until the folder is under ``DETECTION_CACHE_MAX_MB``;
the compiled form of each installed pack (``InstalledPack.is_current``, as the detection
workers recorded them) always stays, so the next restart reads it instead of parsing the
rules again (minutes for the community set). It runs daily (``DetectionConfig.schedule``:
the folder of the host whose worker runs the job) and when a detection worker starts (its
own host's folder); ``tandem detect-cache`` shows the folder and cleans it on demand.

Safe with workers running: a loader reads a whole file into memory and touches it
(:func:`.engine.diskcache.touch`), a file used since it was listed is not removed, and a
file removed is compiled again and written back by the next process that needs it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django_tasks import task

from tandem.detection import queries
from tandem.detection.engine.diskcache import (
    DAY,
    CacheFile,
    Policy,
    Removal,
    cache_files,
    plan_cleanup,
    remove,
)
from tandem.detection.engine.packs import cache_name

log = logging.getLogger(__name__)

MB = 1024 * 1024


def in_use() -> frozenset[str]:
    """The cache names of the installed packs' compiled form (no placeholder map: a
    tenant's values are compiled in memory, decision 0051)."""
    return frozenset(cache_name(p.content_hash) for p in queries.current_packs())


def policy(*, max_age_days: int | None = None, max_mb: int | None = None) -> Policy:
    """The settings' policy, with a command's overrides."""
    days = max_age_days if max_age_days is not None else settings.DETECTION_CACHE_MAX_AGE_DAYS
    megabytes = max_mb if max_mb is not None else settings.DETECTION_CACHE_MAX_MB
    return Policy(max_age=days * DAY, max_bytes=megabytes * MB, keep=in_use())


@dataclass(frozen=True)
class Cleaning:
    """What a cleaning did: the files removed (with why), and the folder afterwards."""

    folder: Path
    removed: list[Removal]
    bytes_left: int
    bound: int | None

    @property
    def over_bound(self) -> bool:
        return self.bound is not None and self.bytes_left > self.bound


def clean_cache(
    folder: Path | None = None, *, rules: Policy | None = None, dry_run: bool = False
) -> Cleaning:
    """Remove what the policy says from ``folder`` (the settings' cache folder); with
    ``dry_run`` only say what would go."""
    folder = Path(folder or settings.DETECTION_CACHE_DIR)
    rules = rules or policy()
    files = cache_files(folder)
    planned = plan_cleanup(files, time.time(), rules)
    removed = planned if dry_run else remove(planned)
    gone = {r.file.path for r in removed}
    left = sum(f.size for f in files if f.path not in gone)
    for removal in removed:
        log.info(
            "detection cache: %s %s (%d bytes): %s",
            "would remove" if dry_run else "removed",
            removal.file.name,
            removal.file.size,
            removal.reason,
        )
    result = Cleaning(folder, removed, left, rules.max_bytes)
    if result.over_bound:
        log.warning(
            "detection cache %s: %d MB in use, over its bound of %d MB "
            "(TANDEM_DETECTION_CACHE_MAX_MB): the installed packs' files alone",
            folder,
            left // MB,
            (rules.max_bytes or 0) // MB,
        )
    return result


@task()
def clean_cache_task() -> int:
    """The daily job (``DetectionConfig.schedule``): the number of files removed."""
    return len(clean_cache().removed)


def listing(folder: Path | None = None) -> tuple[list[CacheFile], frozenset[str]]:
    """The folder's files (oldest use first) and the names of those in use."""
    return cache_files(Path(folder or settings.DETECTION_CACHE_DIR)), in_use()

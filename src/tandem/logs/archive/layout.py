"""Where a tenant's archived events live on disk, and which files a reader may read.

Layout: ``<base>/tenant=<id>/date=YYYY-MM-DD/hour=HH/<file>.parquet``. A file is either a
``part-<name>.parquet`` written by one append or a ``compact-<uuid>.parquet`` that merged
several files of its hour. Names starting with a dot are work in progress (temporary files,
the compaction lock) and are never read.

The reader rule that makes compaction crash-safe: a compacted file names, in its Parquet
footer (key ``tandem.replaces``), every file it merged. A reader lists the hour, collects the
names replaced by every compacted file present and leaves those out. So between the rename
of the compacted file and the deletion of its inputs (the window a crash can leave behind)
each event is read exactly once, from the compacted file; before the rename only the inputs
exist. Decision record 0040.
"""

from __future__ import annotations

import functools
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

PART_PREFIX = "part-"
COMPACT_PREFIX = "compact-"
SUFFIX = ".parquet"
REPLACES_KEY = b"tandem.replaces"

# A tenant id becomes a directory name, so it is held to a strict alphabet: no separators,
# no dots, nothing a crafted id could use to reach another tenant's directory.
_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_DATE_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")
_HOUR_DIR = re.compile(r"hour=(\d{2})")


def tenant_dir(base_dir: str | os.PathLike[str], tenant_id: int | str) -> Path:
    """The directory of one tenant's archive; a tenant id outside the safe alphabet is refused."""
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, int | str):
        raise ValueError(f"tenant id must be an int or a str, not {type(tenant_id).__name__}")
    text = str(tenant_id)
    if not _TENANT_ID.fullmatch(text):
        raise ValueError(f"tenant id {text!r} is not a safe archive name (letters, digits, _ -)")
    return Path(base_dir) / f"tenant={text}"


def archived_tenants(base_dir: str | os.PathLike[str]) -> list[str]:
    """The ids of the tenants that have an archive directory (for the periodic jobs), in
    order; a directory whose name is no safe tenant id is not one."""
    found = []
    for name in _listdir(Path(base_dir)):
        if name.startswith("tenant=") and _TENANT_ID.fullmatch(name[len("tenant=") :]):
            found.append(name[len("tenant=") :])
    return sorted(found)


def as_utc(moment: datetime, what: str = "time") -> datetime:
    """A timezone-aware datetime in UTC; a naive one is refused rather than guessed."""
    if not isinstance(moment, datetime):
        raise ValueError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hour_dir(base_dir: str | os.PathLike[str], tenant_id: int | str, hour: datetime) -> Path:
    """The directory of the hour that contains ``hour`` (any time within it)."""
    hour = as_utc(hour, "hour")
    return tenant_dir(base_dir, tenant_id) / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"


def existing_hours(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[datetime, Path]]:
    """The tenant's hour directories that overlap [start, end), oldest first.

    Reads the directory names only (days outside the range are skipped without listing them).
    """
    root = tenant_dir(base_dir, tenant_id)
    first_day: date | None = start.date() if start else None
    last_day: date | None = end.date() if end else None
    found: list[tuple[datetime, Path]] = []
    for day_name in _listdir(root):
        day_match = _DATE_DIR.fullmatch(day_name)
        if not day_match:
            continue
        try:
            day = date.fromisoformat(day_match.group(1))
        except ValueError:
            continue
        if (first_day and day < first_day) or (last_day and day > last_day):
            continue
        for hour_name in _listdir(root / day_name):
            hour_match = _HOUR_DIR.fullmatch(hour_name)
            if not hour_match or int(hour_match.group(1)) > 23:
                continue
            hour = datetime(day.year, day.month, day.day, int(hour_match.group(1)), tzinfo=UTC)
            if start and hour + timedelta(hours=1) <= start:
                continue
            if end and hour >= end:
                continue
            found.append((hour, root / day_name / hour_name))
    found.sort(key=lambda item: item[0])
    return found


def live_files(directory: Path) -> list[Path]:
    """The files of one hour a reader may read: no temporary file, nothing already merged."""
    names = [
        name
        for name in _listdir(directory)
        if name.endswith(SUFFIX) and name.startswith((PART_PREFIX, COMPACT_PREFIX))
    ]
    replaced: set[str] = set()
    for name in names:
        if name.startswith(COMPACT_PREFIX):
            replaced |= replaced_by(directory / name)
    return sorted(directory / name for name in names if name not in replaced)


@functools.lru_cache(maxsize=4096)
def _replaced_by_cached(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    metadata = pq.read_metadata(path).metadata or {}
    raw = metadata.get(REPLACES_KEY)
    return frozenset(json.loads(raw)) if raw else frozenset()


def replaced_by(path: Path) -> frozenset[str]:
    """The file names a compacted file merged (read from its footer; cached, files never change)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return frozenset()
    return _replaced_by_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _has_columns_cached(path: str, mtime_ns: int, size: int) -> bool:
    return "device" in pq.read_schema(path).names


def has_columns(path: Path) -> bool:
    """Whether a file has the device and field columns (decision 0045); older files have
    only the JSON (read from the footer; cached, files never change)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return True  # gone: the query's retry lists the hour again
    return _has_columns_cached(str(path), stat.st_mtime_ns, stat.st_size)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_durably(directory: Path) -> None:
    """Create ``directory`` and its missing parents, fsyncing each parent that gained an entry."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        fsync_dir(path.parent)


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []

"""Writing events into the archive: durable hourly Parquet parts, and compaction of an hour.

Each row holds the event's time, its host and Sigma log source (lower case, for search), its
ingest source, the device that sent it (``_device``, when known), the stream position id,
the most searched fields as their own columns (:mod:`tandem.logs.archive.fields`), and the
whole event as JSON text, which DuckDB reads for free text and the other fields. Files are
zstd-compressed. Decision records 0040 (the layout) and 0045 (the field columns).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tandem.logs.archive.fields import FIELD_COLUMNS, FIELD_TYPE, field_arrays
from tandem.logs.archive.layout import (
    COMPACT_PREFIX,
    PART_PREFIX,
    REPLACES_KEY,
    SUFFIX,
    as_utc,
    existing_hours,
    fsync_dir,
    has_columns,
    hour_dir,
    hour_floor,
    live_files,
    make_dirs_durably,
    replaced_by,
    tenant_dir,
)
from tandem.logs.archive.trigrams import TRIGRAMS_KEY
from tandem.logs.archive.trigrams import index as trigram_index

# The key under which the stream puts an event's position id (a string, unique per tenant).
STREAM_ID_KEY = "_id"
# The key under which ingest puts the id of the device that sent the event (decision 0045).
DEVICE_KEY = "_device"
_SURROGATE = re.compile("[\ud800-\udfff]")
# How much of an event that cannot be serialised at all is kept (as its repr).
MAX_REPR = 65536
COMPRESSION = "zstd"
# Rows are sorted by time and cut into row groups of this many (about 12 minutes of a busy
# tenant's hour), so a search for a few minutes (``around`` an alert) skips the others by
# their time statistics. Measured: no cost in bytes per event against one group per file.
ROW_GROUP_ROWS = 8192
# Temporary files start with a dot, so readers never list them.
APPEND_TEMPORARY = ".append-"
COMPACT_TEMPORARY = ".compact-"
STALE_APPEND_SECONDS = 3600

SCHEMA = pa.schema(
    [
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        # A key unique within the tenant that orders events of the same microsecond and makes
        # a search cursor exact. It is written once and survives compaction.
        pa.field("key", pa.string(), nullable=False),
        pa.field("host", pa.string()),
        pa.field("product", pa.string()),
        pa.field("category", pa.string()),
        pa.field("service", pa.string()),
        pa.field("source", pa.string()),
        pa.field("received", pa.timestamp("us", tz="UTC")),
        pa.field("stream_id", pa.string()),
        # Files written before these columns existed lack them; readers take them as null.
        pa.field("device", pa.int64()),
        *(pa.field(column, FIELD_TYPE) for column in FIELD_COLUMNS.values()),
        pa.field("event", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class AppendResult:
    """What one append wrote: how many events, and the part files (one per hour touched)."""

    events: int
    files: list[Path]


def append(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    events: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
) -> AppendResult:
    """Archive ``events`` for one tenant; returns once every part file is durable.

    The events go to the hour of their ``_time`` (else ``_received``, else ``now``). Every
    event must be a mapping, and one naming another tenant in ``_tenant`` is refused: the
    whole batch is then refused before anything is written. Odd values (numbers, nulls,
    huge or non-UTF-8 strings, unserialisable objects) are kept, never dropped.

    When every event of an hour carries a stream position id, the part's name is derived
    from those ids, so a batch redelivered whole after a crash replaces its own part instead
    of adding a second copy.
    """
    tenant_dir(base_dir, tenant_id)  # refuses an unsafe tenant id before anything else
    fallback = as_utc(now, "now") if now is not None else datetime.now(UTC)
    batch = list(events)
    for position, event in enumerate(batch):
        if not isinstance(event, Mapping):
            raise ValueError(f"event {position} is a {type(event).__name__}, not a mapping")
        owner = event.get("_tenant")
        if owner is not None and str(owner) != str(tenant_id):
            raise ValueError(f"event {position} belongs to tenant {owner!r}, not {tenant_id!r}")

    by_hour: dict[datetime, list[_Row]] = defaultdict(list)
    for event in batch:
        row = _row(event, fallback)
        by_hour[hour_floor(row.time)].append(row)

    written: list[Path] = []
    for hour, rows in sorted(by_hour.items()):
        target_dir = hour_dir(base_dir, tenant_id, hour)
        make_dirs_durably(target_dir)
        name = _part_name(rows)
        for index, row in enumerate(rows):
            row.key = f"{name}.{index:07d}"
        table = _table(rows)
        written.append(_write_durably(table, target_dir, PART_PREFIX + name + SUFFIX))
    return AppendResult(events=len(batch), files=written)


def compact(base_dir: str | os.PathLike[str], tenant_id: int | str, hour: datetime) -> Path | None:
    """Merge the files of one hour into one compacted file; returns it, or None if no need.

    The merged file carries the trigram index of its events in its footer (``trigrams``).
    Steps: write the merged rows to a temporary file and fsync it; rename it to
    ``compact-<uuid>.parquet`` (its footer lists the files it replaces) and fsync the
    directory; delete the replaced files. Readers leave out whatever a compacted file
    replaces, so a crash at any point shows every event once; a later run finishes the job
    (removes stale temporary files and already-merged inputs). One compaction per hour at a
    time (a lock file); appends may go on meanwhile, their new parts are left for next time.
    """
    directory = hour_dir(base_dir, tenant_id, hour)
    if not directory.is_dir():
        return None
    with _hour_lock(directory):
        _finish_interrupted(directory)
        inputs = live_files(directory)
        if len(inputs) < 2:
            return None
        table = pa.concat_tables([_read_upgraded(path) for path in inputs])
        table = table.sort_by([("time", "ascending"), ("key", "ascending")])
        replaces = sorted(path.name for path in inputs)
        for path in inputs:
            replaces.extend(sorted(replaced_by(path)))
        table = table.replace_schema_metadata(
            {
                REPLACES_KEY: json.dumps(sorted(set(replaces))).encode(),
                # Free text skips the file when no block can hold the needle.
                TRIGRAMS_KEY: trigram_index(table.column("event")),
            }
        )
        merged = _write_durably(
            table, directory, f"{COMPACT_PREFIX}{uuid.uuid4().hex}{SUFFIX}", COMPACT_TEMPORARY
        )
        _delete_replaced(directory, [path.name for path in inputs])
        return merged


def compact_tenant(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    *,
    before: datetime,
    after: datetime | None = None,
) -> int:
    """Compact every hour of the tenant that ended by ``before`` (and, when ``after`` is
    given, does not end before it); returns how many were merged.

    Meant for a periodic job: the current hour still receives appends, so it is left alone;
    ``after`` lets a frequent run look at recent hours only (a late event filed into an old
    hour is merged by a run without it).
    """
    cutoff = as_utc(before, "before")
    since = as_utc(after, "after") if after is not None else None
    merged = 0
    for hour, _ in existing_hours(base_dir, tenant_id, since, cutoff):
        if hour.timestamp() + 3600 <= cutoff.timestamp() and compact(base_dir, tenant_id, hour):
            merged += 1
    return merged


# --- rows ---------------------------------------------------------------------------------


@dataclass
class _Row:
    time: datetime
    key: str
    host: str | None
    product: str | None
    category: str | None
    service: str | None
    source: str | None
    received: datetime | None
    stream_id: str | None
    device: int | None
    #: The event as taken (its field columns are computed a batch at a time, ``_table``).
    parsed: Mapping[str, Any]
    event: str


def _row(event: Mapping[str, Any], fallback: datetime) -> _Row:
    received = _parse_time(event.get("_received"))
    moment = _parse_time(event.get("_time")) or received or fallback
    logsource = event.get("_logsource")
    if not isinstance(logsource, Mapping):
        logsource = {}
    return _Row(
        time=moment,
        key="",
        host=_lower_text(event.get("_host")),
        product=_lower_text(logsource.get("product")),
        category=_lower_text(logsource.get("category")),
        service=_lower_text(logsource.get("service")),
        source=_text(event.get("_source")),
        received=received,
        stream_id=_text(event.get(STREAM_ID_KEY)),
        device=_device(event.get(DEVICE_KEY)),
        parsed=event,
        event=_dump(event),
    )


def _device(value: Any) -> int | None:
    """The device id ingest stamped (a positive integer), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value) or None
    return None


def _clean(text: str) -> str:
    """Text that encodes as UTF-8 (a lone surrogate becomes U+FFFD instead of failing)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _text(value: Any) -> str | None:
    return None if value is None else _clean(str(value))


def _lower_text(value: Any) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def _dump(event: Mapping[str, Any]) -> str:
    """The event's JSON text; never fails, so no event is lost for an odd value.

    Non-JSON values become their ``str``, non-string keys their ``str``; a string that is
    not valid UTF-8 (a lone surrogate) gets U+FFFD in its place; an event nested too deep to
    serialise is kept as its ``repr``.
    """
    try:
        return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return orjson.dumps(_repaired(event, 0), default=str).decode()
    except (TypeError, orjson.JSONEncodeError, RecursionError):
        return orjson.dumps({"_archive_unserialisable": _clean(repr(event)[:MAX_REPR])}).decode()


def _repaired(value: Any, depth: int) -> Any:
    """A copy of ``value`` whose strings and keys are valid UTF-8."""
    if depth > 200:
        raise RecursionError("event nested too deep")
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, Mapping):
        return {_clean(str(key)): _repaired(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item, depth + 1) for item in value]
    return value


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _part_name(rows: list[_Row]) -> str:
    ids = [row.stream_id for row in rows]
    if all(ids) and len(set(ids)) == len(ids):
        digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()  # type: ignore[arg-type]
        return "s" + digest[:32]
    return "u" + uuid.uuid4().hex


def _table(rows: list[_Row]) -> pa.Table:
    """The rows as a table in the file's order (time, then key)."""
    rows.sort(key=lambda row: (row.time, row.key))
    fields = field_arrays([row.parsed for row in rows])
    columns = {
        "time": pa.array([row.time for row in rows], SCHEMA.field("time").type),
        "key": pa.array([row.key for row in rows], pa.string()),
        "host": pa.array([row.host for row in rows], pa.string()),
        "product": pa.array([row.product for row in rows], pa.string()),
        "category": pa.array([row.category for row in rows], pa.string()),
        "service": pa.array([row.service for row in rows], pa.string()),
        "source": pa.array([row.source for row in rows], pa.string()),
        "received": pa.array([row.received for row in rows], SCHEMA.field("received").type),
        "stream_id": pa.array([row.stream_id for row in rows], pa.string()),
        "device": pa.array([row.device for row in rows], pa.int64()),
        **fields,
        "event": pa.array([row.event for row in rows], pa.string()),
    }
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def _read_upgraded(path: Path) -> pa.Table:
    """One file's rows in the current layout: a file written before the field columns
    gets them from its events' JSON (its device stays null: it was never recorded)."""
    table = pq.read_table(path)
    if has_columns(path):
        return table.select(SCHEMA.names).cast(SCHEMA)
    found = field_arrays([_loaded(text) for text in table.column("event").to_pylist()])
    columns = {name: table.column(name) for name in table.column_names if name in SCHEMA.names}
    columns["device"] = pa.nulls(table.num_rows, pa.int64())
    columns.update(found)
    return pa.table({name: columns[name] for name in SCHEMA.names}).cast(SCHEMA)


def _loaded(text: str) -> Mapping[str, Any]:
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return event if isinstance(event, Mapping) else {}


# --- files --------------------------------------------------------------------------------


def _write_durably(
    table: pa.Table, directory: Path, name: str, temporary_prefix: str = APPEND_TEMPORARY
) -> Path:
    """Write ``table`` as ``directory/name``: temporary file, fsync, rename, fsync directory."""
    temporary = directory / f"{temporary_prefix}{uuid.uuid4().hex}"
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(
                table,
                handle,
                compression=COMPRESSION,
                use_dictionary=True,
                row_group_size=ROW_GROUP_ROWS,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    fsync_dir(directory)
    return directory / name


def _delete_replaced(directory: Path, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()
    fsync_dir(directory)


def _finish_interrupted(directory: Path) -> None:
    """Clear what a crash left: temporary files, inputs already merged.

    A compaction's temporary file is always stale here (compactions hold the lock); an
    append's may belong to an append still running, so only an old one is removed.
    """
    now = time.time()
    for name in os.listdir(directory):
        path = directory / name
        with contextlib.suppress(FileNotFoundError):
            if name.startswith(COMPACT_TEMPORARY) or (
                name.startswith(APPEND_TEMPORARY)
                and now - path.stat().st_mtime > STALE_APPEND_SECONDS
            ):
                path.unlink()
    live = {path.name for path in live_files(directory)}
    stale = [
        name
        for name in os.listdir(directory)
        if name.endswith(SUFFIX) and not name.startswith(".") and name not in live
    ]
    if stale:
        _delete_replaced(directory, stale)


@contextlib.contextmanager
def _hour_lock(directory: Path):  # type: ignore[no-untyped-def]
    with open(directory / ".compact.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

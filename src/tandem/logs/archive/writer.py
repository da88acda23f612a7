"""Writing events into the archive: durable hourly Parquet parts, and compaction of an hour.

Each row holds the event's time, its host (lower case, for search), its Sigma log source,
its ingest source, the stream position id, a ``fields`` map of every scalar in the event by
lower-case dotted path with a lower-case value (the search index), and the whole event as
JSON text. Files are zstd-compressed; the event JSON stays as it came so a search returns
exactly what was received. Decision record 0040 weighs this layout against the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
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

from tandem.logs.archive.layout import (
    COMPACT_PREFIX,
    PART_PREFIX,
    REPLACES_KEY,
    SUFFIX,
    as_utc,
    existing_hours,
    fsync_dir,
    hour_dir,
    hour_floor,
    live_files,
    make_dirs_durably,
    replaced_by,
    tenant_dir,
)

# The key under which the stream puts an event's position id (a string, unique per tenant).
STREAM_ID_KEY = "_id"
# An indexed value longer than this is cut in the ``fields`` map (equality then needs the
# first MAX_INDEXED_VALUE characters); the event JSON keeps it whole for free-text search.
MAX_INDEXED_VALUE = 4096
# Nesting deeper than this is indexed as the JSON text of the deeper part.
MAX_DEPTH = 24
COMPRESSION = "zstd"
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
        pa.field("fields", pa.map_(pa.string(), pa.string())),
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
        table = pq.read_table(inputs, schema=SCHEMA)
        table = table.sort_by([("time", "ascending"), ("key", "ascending")])
        replaces = sorted(path.name for path in inputs)
        for path in inputs:
            replaces.extend(sorted(replaced_by(path)))
        table = table.replace_schema_metadata(
            {REPLACES_KEY: json.dumps(sorted(set(replaces))).encode()}
        )
        merged = _write_durably(
            table, directory, f"{COMPACT_PREFIX}{uuid.uuid4().hex}{SUFFIX}", COMPACT_TEMPORARY
        )
        _delete_replaced(directory, [path.name for path in inputs])
        return merged


def compact_tenant(
    base_dir: str | os.PathLike[str], tenant_id: int | str, *, before: datetime
) -> int:
    """Compact every hour of the tenant that ended by ``before``; returns how many were merged.

    Meant for a periodic job: the current hour still receives appends, so it is left alone.
    """
    cutoff = as_utc(before, "before")
    merged = 0
    for hour, _ in existing_hours(base_dir, tenant_id, None, cutoff):
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
    fields: dict[str, str]
    event: str


def _row(event: Mapping[str, Any], fallback: datetime) -> _Row:
    received = _parse_time(event.get("_received"))
    moment = _parse_time(event.get("_time")) or received or fallback
    logsource = event.get("_logsource")
    if not isinstance(logsource, Mapping):
        logsource = {}
    text, clean = _dump_checked(event)
    fields: dict[str, str] = {}
    _flatten(event, "", fields, 0, clean)
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
        fields=fields,
        event=text,
    )


def _flatten(value: Any, path: str, out: dict[str, str], depth: int, clean: bool) -> None:
    """Every scalar of the event under its lower-case dotted path (list items by index).

    This is the writer's hot loop: exact type checks come first, and the UTF-8 repair of
    keys and values runs only when the event's JSON showed it is needed (``clean`` False).
    """
    kind = type(value)
    if kind is str:
        if path:
            text = value if len(value) <= MAX_INDEXED_VALUE else value[:MAX_INDEXED_VALUE]
            out[path] = (text if clean else _clean(text)).lower()
    elif kind is dict or isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            out[path] = _index_value(_dump(value))
            return
        for key, item in value.items():
            name = _lower_name(key) if clean else _clean(str(key)).lower()
            _flatten(item, f"{path}.{name}" if path else name, out, depth + 1, clean)
    elif kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            out[path] = _index_value(_dump(value))
            return
        for index, item in enumerate(value):
            _flatten(item, f"{path}.{index}" if path else str(index), out, depth + 1, clean)
    elif value is None or not path:
        return
    elif kind is bool:
        out[path] = "true" if value else "false"
    elif kind is int or kind is float:
        out[path] = str(value)
    else:
        out[path] = _index_value(str(value))


@functools.lru_cache(maxsize=8192)
def _lower_cached(name: str) -> str:
    return name.lower()


def _lower_name(key: Any) -> str:
    return _lower_cached(key) if type(key) is str else str(key).lower()


def _index_value(text: str) -> str:
    return _clean(text[:MAX_INDEXED_VALUE]).lower()


def _clean(text: str) -> str:
    """Text that encodes as UTF-8 (a lone surrogate becomes U+FFFD instead of failing)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _text(value: Any) -> str | None:
    return None if value is None else _clean(str(value))


def _lower_text(value: Any) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def _dump_checked(event: Mapping[str, Any]) -> tuple[str, bool]:
    """The event's JSON text, and whether every string in it was valid UTF-8 (orjson refuses
    a lone surrogate, so its success proves it)."""
    try:
        return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode(), True
    except (TypeError, orjson.JSONEncodeError):
        return _dump(event), False


def _dump(value: Any) -> str:
    """The JSON text of an event; never fails (an unserialisable event is kept as its repr)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return json.dumps(value, default=str, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        return json.dumps({"_archive_unserialisable": repr(value)[: MAX_INDEXED_VALUE * 16]})


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
    rows.sort(key=lambda row: (row.time, row.key))
    offsets = [0]
    keys: list[str] = []
    values: list[str] = []
    for row in rows:
        keys.extend(row.fields.keys())
        values.extend(row.fields.values())
        offsets.append(len(keys))
    fields = pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.array(keys, pa.string()), pa.array(values, pa.string())
    )
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
        "fields": fields.cast(SCHEMA.field("fields").type),
        "event": pa.array([row.event for row in rows], pa.string()),
    }
    return pa.Table.from_pydict(columns, schema=SCHEMA)


# --- files --------------------------------------------------------------------------------


def _write_durably(
    table: pa.Table, directory: Path, name: str, temporary_prefix: str = APPEND_TEMPORARY
) -> Path:
    """Write ``table`` as ``directory/name``: temporary file, fsync, rename, fsync directory."""
    temporary = directory / f"{temporary_prefix}{uuid.uuid4().hex}"
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression=COMPRESSION, use_dictionary=True)
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

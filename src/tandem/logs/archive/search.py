"""Searching one tenant's archive with DuckDB: by time, host, field = value and free text.

DuckDB is handed the exact list of the tenant's files in the hours of the range (never a
glob, never another tenant's directory), and every value the caller gives is a bound
parameter. Results come newest first, a page at a time; the cursor is the position of the
last event shown (time and archive key), so appends between pages neither repeat nor skip
an event that was there. Hours are read newest first in growing groups (1, 2, 4, ...), so a
search whose first page fills from the latest hour never opens the older ones.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from tandem.logs.archive.fields import FIELD_COLUMNS
from tandem.logs.archive.layout import as_utc, existing_hours, has_columns, live_files
from tandem.logs.archive.trigrams import may_hold, needle

MAX_LIMIT = 1000
MAX_BUCKETS = 1000
# Searches retry when a file vanished between listing and reading (compaction, retention).
_ATTEMPTS = 3
# The archive's directory names (``tenant=1/date=…/hour=…``) look like Hive partitions,
# which DuckDB detects by default and adds as columns (tenant, date, hour) parsed from every
# path. The search never reads them: it chooses the files by their directories itself and
# filters on the ``time`` column. So detection is off, said once: no column is added, none
# could shadow a column of the file, and a base directory whose own name holds ``=`` is not
# read as a partition key (decision 0045, amendment of 2026-12-06).
_PLAIN = ", hive_partitioning = false"
# A needle without letters and within ASCII: it has no other case.
_CASELESS = re.compile(r"[\x00-\x40\x5b-\x60\x7b-\x7f]+")
_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")
# Dotted names: no empty part, no quote, backslash, space or control character.
_FIELD_PATH = re.compile(r'[^."\\\s\x00-\x1f]+(\.[^."\\\s\x00-\x1f]+)*')


@dataclass(frozen=True)
class EventPage:
    """One page of search results, newest first; ``next_cursor`` is None on the last page."""

    events: list[dict[str, Any]]
    next_cursor: str | None
    #: Each event's archive time (its ``_time``, else when it was received), in UTC.
    times: list[datetime] = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    """What a search, count or histogram keeps: see :func:`search`."""

    host: str | None = None
    fields: dict[str, str] | None = None
    text: str | None = None
    #: Only events sent by this device.
    device: int | None = None
    #: Only events sent by one of these devices (a narrowed reader's scope); None: any
    #: event, with or without a device. An empty collection keeps nothing.
    devices: Collection[int] | None = None


def search(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    *,
    start: datetime,
    end: datetime,
    host: str | None = None,
    fields: dict[str, str] | None = None,
    text: str | None = None,
    device: int | None = None,
    devices: Collection[int] | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> EventPage:
    """The tenant's events with ``start <= time < end`` that match every filter given.

    ``host`` and ``fields`` values compare case-insensitively, whole value, ``*`` matching
    any run of characters. A field is a dotted path, case as in the event
    (``Event.EventData.TargetUserName``, ``process.name``, list items by index); a bare name
    (``TargetUserName``) is also looked up under ``Event.EventData`` and ``Event.System``.
    ``text`` is found anywhere in the event (case-insensitive substring). ``device`` keeps
    the events that device sent; ``devices`` keeps only events of those devices (an event
    with no device is out). Pass the ``next_cursor`` of a page to get the next.
    """
    start, end = _range(start, end)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    where = _Where(Filters(host, fields, text, device, devices))
    extra: list[str] = []
    parameters: dict[str, Any] = {}
    if cursor is not None:
        cursor_time, cursor_key = decode_cursor(cursor)
        extra.append("(time < $cursor_time OR (time = $cursor_time AND key < $cursor_key))")
        parameters["cursor_time"] = cursor_time
        parameters["cursor_key"] = cursor_key
        end = min(end, cursor_time + timedelta(microseconds=1))
    hours = [path for _, path in reversed(existing_hours(base_dir, tenant_id, start, end))]
    # A filter that reads the JSON anyway takes the event text with it; otherwise the text
    # is read afterwards for the page's rows only (``_event_texts``).
    columns = "time, key, filename, event" if where.json_only else "time, key, filename"
    rows: list[tuple[Any, ...]] = []
    group = 1
    while hours and len(rows) <= limit and not where.empty:
        chosen, hours = hours[:group], hours[group:]
        group *= 2
        wanted = limit + 1 - len(rows)

        def build(files: _Files, wanted: int = wanted) -> tuple[str, dict[str, Any]]:
            inner, values = where.select(files, columns, start, end, extra, parameters)
            # Only fixed SQL fragments are joined here; every value is a $parameter.
            sql = f"{inner} ORDER BY time DESC, key DESC LIMIT $limit"
            return sql, {**values, "limit": wanted}

        rows.extend(_query(build, chosen))
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if len(rows) > limit else None
    texts = {row[1]: row[3] for row in page} if where.json_only else _event_texts(page)
    return EventPage(
        events=[orjson.loads(texts[row[1]]) for row in page],
        next_cursor=next_cursor,
        times=[as_utc(row[0], "time") for row in page],
    )


def count(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    *,
    start: datetime,
    end: datetime,
    host: str | None = None,
    fields: dict[str, str] | None = None,
    text: str | None = None,
    device: int | None = None,
    devices: Collection[int] | None = None,
    cap: int = 10_000,
) -> tuple[int, bool]:
    """How many of the tenant's events a :func:`search` with these filters finds, counted
    up to ``cap``: ``(number, exact)``, ``exact`` false when there are more than ``cap``
    (the count then stops early instead of reading the whole range)."""
    start, end = _range(start, end)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError("cap must be a positive whole number")
    where = _Where(Filters(host, fields, text, device, devices))
    hours = [path for _, path in existing_hours(base_dir, tenant_id, start, end)]
    if not hours or where.empty:
        return 0, True

    def build(files: _Files) -> tuple[str, dict[str, Any]]:
        inner, values = where.select(files, "1", start, end)
        return f"SELECT count(*) FROM ({inner} LIMIT $cap)", {**values, "cap": cap + 1}  # noqa: S608

    found = _query(build, hours)
    number = int(found[0][0]) if found else 0
    return min(number, cap), number <= cap


def histogram(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    *,
    start: datetime,
    end: datetime,
    bucket: timedelta,
    host: str | None = None,
    fields: dict[str, str] | None = None,
    text: str | None = None,
    device: int | None = None,
    devices: Collection[int] | None = None,
) -> list[tuple[datetime, int]]:
    """The matches of a :func:`search` counted per ``bucket`` of time: every bucket from
    the one holding ``start`` to the one holding the last instant before ``end`` (buckets
    aligned on the Unix epoch, so on whole minutes and hours), oldest first, zeros included.
    Reads the whole range (no cap): their sum is the exact count."""
    start, end = _range(start, end)
    step = int(bucket / timedelta(microseconds=1))
    if step < 1_000_000:
        raise ValueError("a histogram bucket is at least one second")
    first = int((start - _EPOCH) / timedelta(microseconds=1)) // step
    last = (int((end - _EPOCH) / timedelta(microseconds=1)) - 1) // step
    if last - first >= MAX_BUCKETS:
        raise ValueError(f"at most {MAX_BUCKETS} buckets: choose a larger bucket")
    where = _Where(Filters(host, fields, text, device, devices))
    hours = [path for _, path in existing_hours(base_dir, tenant_id, start, end)]
    counted: dict[int, int] = {}
    if hours and not where.empty:

        def build(files: _Files) -> tuple[str, dict[str, Any]]:
            inner, values = where.select(files, "time", start, end)
            sql = (
                "SELECT epoch_us(time) // $step AS bucket, count(*) "  # noqa: S608
                f"FROM ({inner}) GROUP BY bucket"
            )
            return sql, {**values, "step": step}

        counted = {int(number): int(total) for number, total in _query(build, hours)}
    return [
        (_EPOCH + timedelta(microseconds=number * step), counted.get(number, 0))
        for number in range(first, last + 1)
    ]


def _range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start = as_utc(start, "start")
    end = as_utc(end, "end")
    if end <= start:
        raise ValueError("end must be after start")
    return start, end


def around(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    time: datetime,
    host: str | None,
    minutes: int = 5,
    *,
    limit: int = MAX_LIMIT,
    cursor: str | None = None,
) -> EventPage:
    """What happened on ``host`` (every host when None) from ``minutes`` before ``time`` to
    ``minutes`` after it, both ends included: the context of an alert, newest first."""
    moment = as_utc(time, "time")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError("minutes must be a whole number, zero or more")
    span = timedelta(minutes=minutes)
    return search(
        base_dir,
        tenant_id,
        start=moment - span,
        end=moment + span + timedelta(microseconds=1),
        host=host,
        limit=limit,
        cursor=cursor,
    )


def encode_cursor(moment: datetime, key: str) -> str:
    micros = int((moment - _EPOCH) / timedelta(microseconds=1))
    return base64.urlsafe_b64encode(f"{micros}|{key}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; anything else is refused with a clear error."""
    try:
        micros, key = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return _EPOCH + timedelta(microseconds=int(micros)), key
    except (ValueError, UnicodeError, binascii.Error, OverflowError, AttributeError) as error:
        raise ValueError("cursor is not one this search handed out") from error


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Files:
    """The files of a query, split by layout: those with the device and field columns, and
    older ones without (read through the JSON, their device taken as null)."""

    def __init__(self, paths: list[Path]) -> None:
        self.columns = [str(path) for path in paths if has_columns(path)]
        self.legacy = [str(path) for path in paths if not has_columns(path)]

    def holding(self, trigrams: frozenset[int]) -> _Files:
        """These files less those whose trigram index rules out a text with ``trigrams``."""
        if not trigrams:
            return self
        kept = _Files([])
        kept.columns = [name for name in self.columns if may_hold(Path(name), trigrams)]
        kept.legacy = [name for name in self.legacy if may_hold(Path(name), trigrams)]
        return kept


class _Where:
    """The SQL of a search's filters, per layout; every value a ``$parameter``."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.empty = filters.devices is not None and not list(filters.devices)
        self.parameters: dict[str, Any] = {}
        self.common: list[str] = []  # the same for both layouts
        #: The trigram bits a file must have to hold the free text (empty: any file).
        self.trigrams: frozenset[int] = frozenset()
        self.by_column: list[str] = []  # fields read from their columns
        self.by_json: list[str] = []  # the same fields read from the JSON (older files)
        self.json_only: list[str] = []  # fields and text that only the JSON has
        host, fields, text = filters.host, filters.fields, filters.text
        if host is not None:
            if not isinstance(host, str):
                raise ValueError("host must be a string")
            self.common.append(_compare("host", "host", host, self.parameters))
        if filters.device is not None:
            if isinstance(filters.device, bool) or not isinstance(filters.device, int):
                raise ValueError("device must be a whole number")
            self.parameters["device"] = filters.device
            self.common.append("device = $device")
        if filters.devices is not None and not self.empty:
            self.parameters["devices"] = sorted({int(number) for number in filters.devices})
            self.common.append("list_contains($devices, device)")
        for number, (path, value) in enumerate((fields or {}).items()):
            if not isinstance(value, str):
                raise ValueError(f"the value of field {path!r} must be a string")
            self.parameters[f"paths{number}"] = json_paths(path)
            test = _compare(
                "lower(candidate)", f"value{number}", value, self.parameters, by_duckdb=True
            )
            from_json = (
                f"len(list_filter(json_extract_string(event, $paths{number}), "
                f"lambda candidate: {test})) > 0"
            )
            column = FIELD_COLUMNS.get(path)
            if column is None:
                self.json_only.append(from_json)
                continue
            # The column holds the lower-cased values already (fields.py).
            stored = test.replace("lower(candidate)", "candidate")
            self.by_column.append(f"len(list_filter({column}, lambda candidate: {stored})) > 0")
            self.by_json.append(from_json)
        if text is not None:
            if not isinstance(text, str) or not text:
                raise ValueError("text must be a non-empty string")
            # The event is stored as JSON, so the needle is looked for in its JSON spelling
            # (a backslash in a Windows path is two there, a quote is \"). A case-insensitive
            # RE2 scan of a literal is about twice as fast as lower() and a substring test.
            escaped = orjson.dumps(text).decode()[1:-1]
            if _CASELESS.fullmatch(escaped):
                # No letter, nothing outside ASCII: no character of it has another case (the
                # only letters RE2 folds onto ASCII are letters, tested), so a plain
                # substring test finds what the case-insensitive scan finds, in about a
                # quarter less CPU (an address, a port, a number).
                self.parameters["text"] = escaped
                self.json_only.append("contains(event, $text)")
            else:
                self.parameters["text"] = "(?i)" + "".join(
                    "\\" + char if char in _REGEX_SPECIAL else char for char in escaped
                )
                self.json_only.append("regexp_matches(event, $text)")
            self.trigrams = needle(text)

    def select(
        self,
        files: _Files,
        columns: str,
        start: datetime,
        end: datetime,
        extra: list[str] = (),  # type: ignore[assignment]
        extra_parameters: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """``SELECT columns`` of the matching rows of ``files`` (a UNION of the layouts),
        and the parameters it uses. Cheap conditions come first: DuckDB evaluates the rest
        only on the rows they keep."""
        base = ["time >= $start", "time < $end", *extra, *self.common]
        # Each row's file only when asked for (the page reads its events from it after).
        named = ", filename = true" if "filename" in columns else ""
        parts = []
        # Free text leaves out the compacted files whose trigram index rules it out.
        files = files.holding(self.trigrams)
        if files.columns:
            where = " AND ".join([*base, *self.by_column, *self.json_only])
            parts.append(
                f"SELECT {columns} FROM read_parquet($files{named}{_PLAIN}) WHERE {where}"  # noqa: S608
            )
        # Older files recorded no device: a device filter or a scope keeps none of theirs.
        legacy = (
            files.legacy if self.filters.device is None and self.filters.devices is None else []
        )
        if legacy:
            where = " AND ".join([*base, *self.by_json, *self.json_only])
            parts.append(
                f"SELECT {columns} FROM read_parquet($legacy{named}{_PLAIN}, "  # noqa: S608
                f"union_by_name = true) WHERE {where}"
            )
        # No file to read: a statement that finds nothing, with the columns asked for.
        sql = " UNION ALL ".join(parts) or f"SELECT {_NOTHING[columns]} WHERE false"
        used = {**self.parameters, **(extra_parameters or {}), "start": start, "end": end}
        if files.columns:
            used["files"] = files.columns
        if legacy:
            used["legacy"] = legacy
        # DuckDB refuses a parameter the statement does not name.
        return sql, {name: value for name, value in used.items() if f"${name}" in sql}


_NOTHING = {
    "1": "1",
    "time": "now()::TIMESTAMPTZ AS time",
    "time, key, filename": "now()::TIMESTAMPTZ AS time, '' AS key, '' AS filename",
    "time, key, filename, event": "now()::TIMESTAMPTZ AS time, '' AS key, '' AS filename, "
    "'' AS event",
}


def _event_texts(rows: list[tuple[Any, ...]]) -> dict[str, str]:
    """The JSON text of the page's events (rows of time, key, file), read from their files
    only for the row groups of their times. A file compacted away meanwhile is replaced by
    its hour's live files (keys survive compaction)."""
    by_file: dict[str, list[tuple[datetime, str]]] = {}
    for moment, key, name in rows:
        by_file.setdefault(name, []).append((moment, key))
    texts: dict[str, str] = {}
    sql = (
        f"SELECT key, event FROM read_parquet($files{_PLAIN}) "  # noqa: S608
        "WHERE time >= $low AND time <= $high AND list_contains($keys, key)"
    )
    for name, wanted in by_file.items():
        parameters = {
            "low": min(moment for moment, _ in wanted),
            "high": max(moment for moment, _ in wanted),
            "keys": [key for _, key in wanted],
        }
        for attempt in range(_ATTEMPTS):
            files = [name] if attempt == 0 else [str(p) for p in live_files(Path(name).parent)]
            try:
                found = _connection().execute(sql, {**parameters, "files": files}).fetchall()
            except duckdb.IOException:
                continue
            texts.update((key, event) for key, event in found)
            if all(key in texts for _, key in wanted):
                break
        else:
            raise duckdb.IOException(f"the events of {name} could not be read")
    return texts


def json_paths(field: str) -> list[str]:
    """The JSON paths a search field names: a dotted path as written (list items by index);
    a bare name also under ``Event.EventData`` and ``Event.System``, as Sigma reads it."""
    if not isinstance(field, str) or not _FIELD_PATH.fullmatch(field):
        raise ValueError(f"field {field!r} is not a dotted path (names without quotes or spaces)")
    parts = field.split(".")
    path = "$" + "".join(f"[{part}]" if part.isdigit() else f'."{part}"' for part in parts)
    if len(parts) > 1:
        return [path]
    return [f'$."Event"."EventData".{path[2:]}', f'$."Event"."System".{path[2:]}', path]


def _compare(
    expression: str, name: str, value: str, parameters: dict[str, Any], *, by_duckdb: bool = False
) -> str:
    """``expression`` equals ``value`` ignoring case; ``*`` in the value matches anything.

    ``expression`` is lower case already. ``by_duckdb``: the value is lower-cased by
    DuckDB's ``lower`` (as the expression was: a field from the JSON, or a field column
    lowered by Arrow's same utf8proc mapping), else by Python's (the host column, written
    with ``str.lower``). The two differ on a few letters (a final sigma, ``İ``), and a
    value must be lowered as the text it is compared with, or it would miss itself."""
    lowered = value if by_duckdb else value.lower()
    placeholder = f"lower(${name})" if by_duckdb else f"${name}"
    if "*" not in lowered:
        parameters[name] = lowered
        return f"{expression} = {placeholder}"
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    parameters[name] = escaped.replace("*", "%")
    return f"{expression} LIKE {placeholder} ESCAPE '\\'"


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per thread (a connection is not shared between threads)."""
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = duckdb.connect(":memory:")
        connection.execute("SET enable_progress_bar = false")
        _local.connection = connection
    return connection


def _query(
    build: Callable[[_Files], tuple[str, dict[str, Any]]], hour_dirs: list[Path]
) -> list[tuple[Any, ...]]:
    """Run the statement ``build`` makes for the live files of ``hour_dirs``."""
    for attempt in range(_ATTEMPTS):
        paths = [path for directory in hour_dirs for path in live_files(directory)]
        if not paths:
            return []
        sql, parameters = build(_Files(paths))
        try:
            result = _connection().execute(sql, parameters).fetchall()
        except duckdb.IOException:
            # A file was compacted away or pruned after the listing: list again.
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return [tuple(row) for row in result]
    return []

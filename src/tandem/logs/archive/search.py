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
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from tandem.logs.archive.layout import as_utc, existing_hours, live_files

MAX_LIMIT = 1000
# Searches retry when a file vanished between listing and reading (compaction, retention).
_ATTEMPTS = 3
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


def search(
    base_dir: str | os.PathLike[str],
    tenant_id: int | str,
    *,
    start: datetime,
    end: datetime,
    host: str | None = None,
    fields: dict[str, str] | None = None,
    text: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> EventPage:
    """The tenant's events with ``start <= time < end`` that match every filter given.

    ``host`` and ``fields`` values compare case-insensitively, whole value, ``*`` matching
    any run of characters. A field is a dotted path, case as in the event
    (``Event.EventData.TargetUserName``, ``process.name``, list items by index); a bare name
    (``TargetUserName``) is also looked up under ``Event.EventData`` and ``Event.System``.
    ``text`` is found anywhere in the event (case-insensitive substring). Pass the
    ``next_cursor`` of a page to get the next.
    """
    start, end = _range(start, end)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    conditions, parameters = _filters(host, fields, text)
    if cursor is not None:
        cursor_time, cursor_key = decode_cursor(cursor)
        conditions.append("(time < $cursor_time OR (time = $cursor_time AND key < $cursor_key))")
        parameters["cursor_time"] = cursor_time
        parameters["cursor_key"] = cursor_key
        end = min(end, cursor_time + timedelta(microseconds=1))
    parameters["start"] = start
    parameters["end"] = end
    where = " AND ".join(["time >= $start", "time < $end", *conditions])
    # Only fixed SQL fragments are joined here; every value is a $parameter.
    sql = (
        "SELECT time, key, event FROM read_parquet($files) "  # noqa: S608
        f"WHERE {where} ORDER BY time DESC, key DESC LIMIT $limit"
    )

    hours = [path for _, path in reversed(existing_hours(base_dir, tenant_id, start, end))]
    rows: list[tuple[datetime, str, str]] = []
    group = 1
    while hours and len(rows) <= limit:
        chosen, hours = hours[:group], hours[group:]
        group *= 2
        found = _query(sql, chosen, {**parameters, "limit": limit + 1 - len(rows)})
        rows.extend(found)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if len(rows) > limit else None
    return EventPage(
        events=[orjson.loads(row[2]) for row in page],
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
    cap: int = 10_000,
) -> tuple[int, bool]:
    """How many of the tenant's events a :func:`search` with these filters finds, counted
    up to ``cap``: ``(number, exact)``, ``exact`` false when there are more than ``cap``
    (the count then stops early instead of reading the whole range)."""
    start, end = _range(start, end)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError("cap must be a positive whole number")
    conditions, parameters = _filters(host, fields, text)
    parameters |= {"start": start, "end": end, "cap": cap + 1}
    where = " AND ".join(["time >= $start", "time < $end", *conditions])
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM read_parquet($files) "  # noqa: S608
        f"WHERE {where} LIMIT $cap)"
    )
    hours = [path for _, path in existing_hours(base_dir, tenant_id, start, end)]
    found = _query(sql, hours, parameters) if hours else []
    number = int(found[0][0]) if found else 0
    return min(number, cap), number <= cap


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


def _filters(
    host: str | None, fields: dict[str, str] | None, text: str | None
) -> tuple[list[str], dict[str, Any]]:
    conditions: list[str] = []
    parameters: dict[str, Any] = {}
    if host is not None:
        if not isinstance(host, str):
            raise ValueError("host must be a string")
        conditions.append(_compare("host", "host", host, parameters))
    for number, (path, value) in enumerate((fields or {}).items()):
        if not isinstance(value, str):
            raise ValueError(f"the value of field {path!r} must be a string")
        parameters[f"paths{number}"] = json_paths(path)
        test = _compare("lower(candidate)", f"value{number}", value, parameters)
        conditions.append(
            f"len(list_filter(json_extract_string(event, $paths{number}), "
            f"lambda candidate: {test})) > 0"
        )
    if text is not None:
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        # The event is stored as JSON, so the needle is looked for in its JSON spelling
        # (a backslash in a Windows path is two there, a quote is \"). A case-insensitive
        # RE2 scan of a literal is about twice as fast as lower() and a substring test.
        escaped = orjson.dumps(text).decode()[1:-1]
        parameters["text"] = "(?i)" + "".join(
            "\\" + char if char in _REGEX_SPECIAL else char for char in escaped
        )
        conditions.append("regexp_matches(event, $text)")
    return conditions, parameters


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


def _compare(expression: str, name: str, value: str, parameters: dict[str, Any]) -> str:
    """``expression`` equals ``value`` ignoring case; ``*`` in the value matches anything."""
    lowered = value.lower()
    if "*" not in lowered:
        parameters[name] = lowered
        return f"{expression} = ${name}"
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    parameters[name] = escaped.replace("*", "%")
    return f"{expression} LIKE ${name} ESCAPE '\\'"


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per thread (a connection is not shared between threads)."""
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = duckdb.connect(":memory:")
        connection.execute("SET enable_progress_bar = false")
        _local.connection = connection
    return connection


def _query(sql: str, hour_dirs: list[Path], parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    for attempt in range(_ATTEMPTS):
        files = [str(path) for directory in hour_dirs for path in live_files(directory)]
        if not files:
            return []
        try:
            result = _connection().execute(sql, {**parameters, "files": files}).fetchall()
        except duckdb.IOException:
            # A file was compacted away or pruned after the listing: list again.
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return [tuple(row) for row in result]
    return []

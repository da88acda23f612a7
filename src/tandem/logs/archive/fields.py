"""The most searched event fields, kept as their own Parquet columns (decision 0045).

A field search over the JSON text decodes every event of the range (seconds per million
events when little matches); the same search over a column of short, dictionary-encoded
strings reads a few megabytes. Each column holds, lower-cased, every value the search's
JSON lookup finds for that field name: the same paths (the rule of ``search.json_paths``:
a bare name under ``Event.EventData``, ``Event.System``, then the top level) and the same
text DuckDB's ``json_extract_string`` gives (a string as it is, a number or ``true`` as its
JSON spelling, an object as its JSON text; a null is no value), lower-cased by Arrow's
``utf8_lower`` (utf8proc, the case mapping of DuckDB's ``lower``, which the JSON search
applies: Python's ``str.lower`` differs on a final sigma and on ``İ``). So a search on a
field with a column finds exactly what the JSON lookup finds, and the JSON is read only for
the other fields and free text. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

#: The search names with a column of their own: the Windows (Sigma) names most searched,
#: read as the search reads a bare name (under ``Event.EventData``, then ``Event.System``,
#: then the top level), and the ECS paths of Linux events. A name here must be spelt as the
#: search spells it; other spellings (``Event.EventData.Image``) read the JSON.
FIELD_COLUMNS: dict[str, str] = {
    name: "f_" + re.sub(r"[^a-z0-9]+", "_", name.lower())
    for name in (
        "EventID",
        "Channel",
        "TargetUserName",
        "SubjectUserName",
        "User",
        "Image",
        "ParentImage",
        "IpAddress",
        "SourceIp",
        "DestinationIp",
        "user.name",
        "process.name",
        "process.executable",
        "source.ip",
        "destination.ip",
    )
}
FIELD_TYPE = pa.list_(pa.string())
_SURROGATE = re.compile("[\ud800-\udfff]")

_BARE = {name: column for name, column in FIELD_COLUMNS.items() if "." not in name}
_BARE_NAMES = frozenset(_BARE)
_DOTTED = [
    (tuple(name.split(".")), column) for name, column in FIELD_COLUMNS.items() if "." in name
]
_DOTTED_HEADS = frozenset(path[0] for path, _ in _DOTTED)


def field_arrays(events: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array]:
    """The field columns of ``events`` (in their order), as Arrow list arrays: a row holds
    every value its event has for the column's name, lower case; a row without a value is
    null (which no search matches, as an empty list would not).

    Built for speed (it runs for every archived event, decision 0045's amendment of
    2026-12-06): one pass over the parsed events that only looks up the names each
    container holds (a set intersection in C) and keeps each value's text in one flat list
    per column; the lists become Arrow arrays at once and are lower-cased there, a column at
    a time, instead of a Python list per event and per column."""
    values: dict[str, list[str]] = {column: [] for column in FIELD_COLUMNS.values()}
    rows: dict[str, list[int]] = {column: [] for column in FIELD_COLUMNS.values()}
    for row, event in enumerate(events):
        top = event if isinstance(event, dict) else dict(event)
        containers = [top]
        windows = top.get("Event")
        if isinstance(windows, dict):
            system, data = windows.get("System"), windows.get("EventData")
            if isinstance(system, dict):
                containers.insert(0, system)
            if isinstance(data, dict):
                containers.insert(0, data)
        # Containers in the search's order, so a column lists its values as the JSON
        # lookup does (EventData, System, top level).
        for container in containers:
            for name in _BARE_NAMES.intersection(container):
                value = container[name]
                if value is not None:
                    column = _BARE[name]
                    values[column].append(value if isinstance(value, str) else _as_text(value))
                    rows[column].append(row)
        if _DOTTED_HEADS.isdisjoint(top):
            continue
        for path, column in _DOTTED:
            current: Any = top
            for key in path:
                current = current.get(key) if isinstance(current, dict) else None
                if current is None:
                    break
            if current is not None:
                values[column].append(current if isinstance(current, str) else _as_text(current))
                rows[column].append(row)
    return {
        column: _lists(len(events), values[column], rows[column])
        for column in FIELD_COLUMNS.values()
    }


def _lists(length: int, values: list[str], rows: list[int]) -> pa.Array:
    """A list array of ``length`` rows from the flat ``values`` and the (ascending) row of
    each; a row with no value is null."""
    if not values:
        return pa.nulls(length, FIELD_TYPE)
    sizes = [0] * length
    for row in rows:
        sizes[row] += 1
    offsets = pa.array([0, *accumulate(sizes)], pa.int32())
    try:
        texts = pa.array(values, pa.string())
    except UnicodeEncodeError:
        # A lone surrogate: the event's JSON holds U+FFFD in its place (writer._dump).
        texts = pa.array([_SURROGATE.sub("\ufffd", value) for value in values], pa.string())
    lowered = pc.utf8_lower(texts)
    empty = pa.array([size == 0 for size in sizes], pa.bool_())
    return pa.ListArray.from_arrays(offsets, lowered, FIELD_TYPE, mask=empty)


def field_values(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each field column's values for one event (lower case); a column with no value is
    left out. The single-event form of :func:`field_arrays`, for tests and tools."""
    arrays = field_arrays([event])
    found = {column: array[0].as_py() for column, array in arrays.items()}
    return {column: value for column, value in found.items() if value is not None}


def _as_text(value: Any) -> str:
    """What ``json_extract_string`` gives for a JSON value (not null)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)

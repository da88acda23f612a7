"""The most searched event fields, kept as their own Parquet columns (decision 0045).

A field search over the JSON text decodes every event of the range (seconds per million
events when little matches); the same search over a column of short, dictionary-encoded
strings reads a few megabytes. Each column holds, lower-cased, every value the search's
JSON lookup finds for that field name: the same paths (the rule of ``search.json_paths``:
a bare name under ``Event.EventData``, ``Event.System``, then the top level) and the same
text DuckDB's ``json_extract_string`` gives (a string as it is, a number or ``true`` as its
JSON spelling, an object as its JSON text; a null is no value). So a search on a field
with a column finds exactly what the JSON lookup finds, and the JSON is read only for the
other fields and free text. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

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


_BARE = [(name, column) for name, column in FIELD_COLUMNS.items() if "." not in name]
_DOTTED = [
    (tuple(name.split(".")), column) for name, column in FIELD_COLUMNS.items() if "." in name
]


def field_values(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each field column's values for one event, lower case; a column with no value is
    left out (stored as null, which no search matches, as an empty list would not).

    Written for speed (it runs for every archived event): plain dict lookups, the Windows
    containers found once, no list for a column without a value."""
    top = event if isinstance(event, dict) else dict(event)
    windows = top.get("Event")
    containers = [top]
    if isinstance(windows, dict):
        system, data = windows.get("System"), windows.get("EventData")
        if isinstance(system, dict):
            containers.insert(0, system)
        if isinstance(data, dict):
            containers.insert(0, data)
    found: dict[str, list[str]] = {}
    for name, column in _BARE:
        for container in containers:
            value = container.get(name)
            if value is not None:
                text = value.lower() if isinstance(value, str) else _as_text(value).lower()
                if column in found:
                    found[column].append(text)
                else:
                    found[column] = [text]
    for path, column in _DOTTED:
        current: Any = top
        for key in path:
            current = current.get(key) if isinstance(current, dict) else None
            if current is None:
                break
        if current is not None:
            found[column] = [_as_text(current).lower()]
    return found


def _as_text(value: Any) -> str:
    """What ``json_extract_string`` gives for a JSON value (not null)."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)

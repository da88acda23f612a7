"""The inventory document, its hash, and deltas between two documents.

One canonical JSON document describes a device (decision 0025, "Inventory"):

    {"schema_version": 1,
     "device": {...}, "os": {...}, "hardware": {...}, "security": {...}, "patch_status": {...},
     "disks": [...], "network_interfaces": [...], "accounts": [...],
     "software": [...], "updates": [...]}

A *section* is either a record (a dict of fields) or a list of items, each item a dict with a
stable string ``id`` (``openssl:amd64``, a registry key, a pkgutil id). Lists are kept sorted
by id and ids are unique, so a document has exactly one canonical form. Values are JSON
scalars, lists and dicts, never floats: a float's text form is not canonical across
languages, and the server must compute the same hash as the agent.

Everything here is pure: the server side uses the same rules to check a delta.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

SCHEMA_VERSION = 1

Document = dict[str, Any]
Delta = dict[str, Any]


class DeltaError(ValueError):
    """A delta cannot be made or applied: the receiver needs the full document."""


def canonical(document: Any) -> bytes:
    """The document's canonical bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def state_hash(document: Document) -> str:
    """``sha256:<hex>`` of the canonical form: what agent and server compare on check-in."""
    return "sha256:" + hashlib.sha256(canonical(document)).hexdigest()


def normalise(document: Document) -> Document:
    """A copy with every list section sorted by id; refuses duplicate or missing ids."""
    result: Document = {}
    for name, value in document.items():
        if isinstance(value, list):
            ids = [_item_id(name, item) for item in value]
            if len(set(ids)) != len(ids):
                duplicates = sorted({i for i in ids if ids.count(i) > 1})
                raise ValueError(f"section {name!r} repeats ids: {', '.join(duplicates[:5])}")
            result[name] = sorted((copy.deepcopy(item) for item in value), key=lambda i: i["id"])
        else:
            result[name] = copy.deepcopy(value)
    return result


def _item_id(section: str, item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ValueError(f"every item of section {section!r} needs a string 'id'")
    return str(item["id"])


def delta(previous: Document, current: Document) -> Delta:
    """What changed from ``previous`` to ``current``, section by section.

    List sections give ``added`` and ``changed`` items (whole) and ``removed`` ids; record
    sections give ``set`` fields and ``unset`` field names; a section that appears, vanishes
    or changes kind is ``replace``d (``{"remove": true}`` when it vanished). Unchanged sections
    are left out. The delta names both hashes, so the receiver can check it applies to the
    state it holds and that the result is what the agent has.
    """
    if previous.get("schema_version") != current.get("schema_version"):
        raise DeltaError("schema versions differ: send the full document")
    sections: dict[str, Any] = {}
    for name in sorted(set(previous) | set(current)):
        if name == "schema_version":
            continue
        change = _section_delta(previous.get(name, _MISSING), current.get(name, _MISSING))
        if change is not None:
            sections[name] = change
    return {
        "schema_version": current.get("schema_version"),
        "base_hash": state_hash(previous),
        "state_hash": state_hash(current),
        "sections": sections,
    }


_MISSING = object()


def _section_delta(before: Any, after: Any) -> dict[str, Any] | None:
    if after is _MISSING:
        return None if before is _MISSING else {"remove": True}
    if before is _MISSING or type(before) is not type(after):
        return {"replace": copy.deepcopy(after)}
    if isinstance(after, list):
        return _list_delta(before, after)
    if isinstance(after, dict):
        return _record_delta(before, after)
    return None if _same(before, after) else {"replace": copy.deepcopy(after)}


def _same(one: Any, other: Any) -> bool:
    """Equal as JSON: Python's ``True == 1`` and ``1 == 1.0`` would hide a change."""
    return canonical(one) == canonical(other)


def _list_delta(before: list[Any], after: list[Any]) -> dict[str, Any] | None:
    old = {item["id"]: item for item in before}
    new = {item["id"]: item for item in after}
    added = [copy.deepcopy(new[i]) for i in sorted(new.keys() - old.keys())]
    removed = sorted(old.keys() - new.keys())
    changed = [
        copy.deepcopy(new[i]) for i in sorted(new.keys() & old.keys()) if not _same(new[i], old[i])
    ]
    if not (added or removed or changed):
        return None
    return {"added": added, "removed": removed, "changed": changed}


def _record_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    set_fields = {
        k: copy.deepcopy(v) for k, v in after.items() if k not in before or not _same(before[k], v)
    }
    unset = sorted(before.keys() - after.keys())
    if not (set_fields or unset):
        return None
    return {"set": set_fields, "unset": unset}


def apply(previous: Document, change: Delta, *, check: bool = True) -> Document:
    """``previous`` with ``change`` applied: ``apply(p, delta(p, c)) == c``.

    With ``check`` (the default) the delta must name ``previous``'s hash as its base and the
    result must hash to the delta's ``state_hash``; otherwise :class:`DeltaError`, which is
    the server's cue to ask for the full document.
    """
    if check and change.get("base_hash") != state_hash(previous):
        raise DeltaError("the delta was made against another state")
    result = copy.deepcopy(previous)
    result["schema_version"] = change.get("schema_version", previous.get("schema_version"))
    for name, section in change.get("sections", {}).items():
        if section.get("remove"):
            result.pop(name, None)
        elif "replace" in section:
            result[name] = copy.deepcopy(section["replace"])
        elif "set" in section or "unset" in section:
            record = result.setdefault(name, {})
            if not isinstance(record, dict):
                raise DeltaError(f"section {name!r} is not a record")
            for field in section.get("unset", []):
                record.pop(field, None)
            record.update(copy.deepcopy(section.get("set", {})))
        else:
            result[name] = _apply_list(name, result.get(name, []), section)
    if check and state_hash(result) != change.get("state_hash"):
        raise DeltaError("the delta does not lead to the state it names")
    return result


def _apply_list(name: str, items: Any, section: dict[str, Any]) -> list[Any]:
    if not isinstance(items, list):
        raise DeltaError(f"section {name!r} is not a list")
    by_id = {item["id"]: item for item in items}
    for removed in section.get("removed", []):
        by_id.pop(removed, None)
    for item in [*section.get("added", []), *section.get("changed", [])]:
        by_id[item["id"]] = copy.deepcopy(item)
    return [by_id[i] for i in sorted(by_id)]

"""From an inventory document to rows: installed software, pending updates and the
device's own facts, and the difference between two package sets. Pure functions over plain
data, so the check-in's database work is a handful of bulk statements (decision 0027).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.agents.choices import SoftwareChangeKind
from tandem.agents.versions import compare_versions
from tandem.agents.wire import WireError

#: (name, version, architecture, source package, source version) of one package.
SoftwareRow = tuple[str, str, str, str, str]
#: (name, architecture, current, candidate, security, origin) of one pending update.
UpdateRow = tuple[str, str, str, str, bool, str]

_ITEM_ID_MAX = 500
_TEXT_MAX = {"name": 500, "version": 200, "arch": 40, "source": 500, "origin": 500}


def _text(item: dict[str, Any], key: str, limit: int, *, section: str) -> str:
    value = item.get(key)
    if value.__class__ is str and len(value) <= limit:
        return value  # the common case, first: this runs for every field of every package
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise WireError(422, "invalid", f"{section}: {key!r} of {item.get('id')!r} is not text")
    text = str(value)
    if len(text) > limit:
        raise WireError(422, "invalid", f"{section}: {key!r} of {item.get('id')!r} is too long")
    return text


def _items(document: dict[str, Any], section: str) -> list[dict[str, Any]]:
    items = document.get(section) or []
    if not isinstance(items, list):
        raise WireError(422, "invalid", f"inventory: {section!r} must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise WireError(422, "invalid", f"inventory: every {section!r} item needs an 'id'")
        if not item["id"] or len(item["id"]) > _ITEM_ID_MAX:
            raise WireError(422, "invalid", f"inventory: a {section!r} id is empty or too long")
    return items


#: The software fields of a row, in ``SoftwareRow`` order, with their length limits.
_SOFTWARE_FIELDS = (
    ("name", _TEXT_MAX["name"]),
    ("version", _TEXT_MAX["version"]),
    ("arch", _TEXT_MAX["arch"]),
    ("source", _TEXT_MAX["source"]),
    ("source_version", _TEXT_MAX["version"]),
)


def software_rows(document: dict[str, Any]) -> dict[str, SoftwareRow]:
    """Installed packages by item id."""
    rows: dict[str, SoftwareRow] = {}
    n_max, v_max, a_max, s_max = (
        _TEXT_MAX["name"],
        _TEXT_MAX["version"],
        _TEXT_MAX["arch"],
        _TEXT_MAX["source"],
    )
    for item in _items(document, "software"):
        get = item.get
        name, version, arch = get("name"), get("version"), get("arch")
        source, source_version = get("source"), get("source_version")
        if source is None:
            source = ""
        if source_version is None:
            source_version = ""
        # The common case inline (every field text within its limit; runs ~1,500 times per
        # first inventory, decision 0028); anything else through ``_text``'s rules.
        if (
            name.__class__ is str
            and version.__class__ is str
            and arch.__class__ is str
            and source.__class__ is str
            and source_version.__class__ is str
            and len(name) <= n_max
            and len(version) <= v_max
            and len(arch) <= a_max
            and len(source) <= s_max
            and len(source_version) <= v_max
        ):
            rows[item["id"]] = (name or item["id"], version, arch, source, source_version)
            continue
        name, version, arch, source, source_version = (
            _text(item, key, limit, section="software") for key, limit in _SOFTWARE_FIELDS
        )
        rows[item["id"]] = (name or item["id"], version, arch, source, source_version)
    return rows


def software_rows_after(
    previous_rows: dict[str, SoftwareRow], change: dict[str, Any], document: dict[str, Any]
) -> dict[str, SoftwareRow]:
    """:func:`software_rows` of ``document``, the result of ``documents.apply(previous,
    change)``, given ``previous_rows``, those of ``previous``: what the delta leaves alone
    keeps its row, only the packages it names are read (3 of ~1,700 for a patch run, where
    reading them all was a delta check-in's dearest step after the document's JSON;
    decision 0049, fourth round).

    Exact by the delta's list rules (decision 0025): the result's packages are the previous
    ones by id, less ``removed``, then ``added`` and ``changed`` by id (the last of an id
    wins), so each package not named is the very item ``previous_rows`` read. The named
    ones are read in id order as :func:`software_rows` would meet them, so a malformed one
    is refused with the same answer. A section replaced or removed is read whole."""
    sections = change.get("sections") or {}
    if "software" not in sections:
        return previous_rows
    section = sections["software"]
    if not isinstance(section, dict) or section.get("remove") or "replace" in section:
        return software_rows(document)
    named = {item["id"]: item for item in [*section.get("added", []), *section.get("changed", [])]}
    rows = dict(previous_rows)
    for removed in section.get("removed", []):
        rows.pop(removed, None)
    rows.update(software_rows({"software": [named[i] for i in sorted(named)]}))
    return rows


def _origin(item: dict[str, Any]) -> str:
    origins = item.get("origins")
    if isinstance(origins, list):
        parts = [
            f"{o.get('label', '')}:{o.get('suite', '')}".strip(":")
            for o in origins
            if isinstance(o, dict)
        ]
        return ", ".join(p for p in parts if p)[: _TEXT_MAX["origin"]]
    return _text(item, "origin", _TEXT_MAX["origin"], section="updates")


def update_rows(document: dict[str, Any]) -> dict[str, UpdateRow]:
    """Pending updates by item id."""
    rows: dict[str, UpdateRow] = {}
    for item in _items(document, "updates"):
        rows[item["id"]] = (
            _text(item, "name", _TEXT_MAX["name"], section="updates") or item["id"],
            _text(item, "arch", _TEXT_MAX["arch"], section="updates"),
            _text(item, "installed_version", _TEXT_MAX["version"], section="updates"),
            _text(item, "candidate_version", _TEXT_MAX["version"], section="updates"),
            item.get("security") is True,
            _origin(item),
        )
    return rows


def _record(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name) or {}
    return value if isinstance(value, dict) else {}


def _fact(record: dict[str, Any], key: str, limit: int) -> str:
    value = record.get(key)
    return str(value)[:limit] if isinstance(value, str | int) else ""


OS_FAMILIES = {"linux", "windows", "macos"}


def device_facts(document: dict[str, Any]) -> dict[str, str]:
    """The ``Device`` fields an inventory sets: hostname, serial, OS, kernel, architecture.
    Never the hardware id: that is the device's identity in its tenant, set at enrolment
    (an inventory naming another device's id must not collide with it)."""
    device, os = _record(document, "device"), _record(document, "os")
    family = _fact(os, "family", 16)
    return {
        "hostname": _fact(device, "hostname", 255),
        "serial_number": _fact(device, "serial", 128),
        "os_family": family if family in OS_FAMILIES else "other",
        "os_name": _fact(os, "pretty_name", 120) or _fact(os, "name", 120),
        "os_version": _fact(os, "version", 120),
        "kernel": _fact(os, "kernel", 120),
        "architecture": _fact(os, "arch", 32),
    }


def reboot_pending(document: dict[str, Any]) -> bool | None:
    """The agent's ``patch_status.reboot_required``: True or False, None when not said."""
    value = _record(document, "patch_status").get("reboot_required")
    return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class Change:
    """One package's change: (item id, name, architecture, kind, from, to)."""

    item_id: str
    name: str
    architecture: str
    kind: str
    from_version: str
    to_version: str


def software_changes(before: dict[str, SoftwareRow], after: dict[str, SoftwareRow]) -> list[Change]:
    """What changed between two package sets, in item-id order."""
    # Only the ids whose rows differ are sorted and compared: after a delta that is a few of
    # ~1,700, and the rows it left alone are the same tuples (``software_rows_after``).
    differing = {i for i, row in after.items() if before.get(i) != row}
    differing.update(before.keys() - after.keys())
    changes = []
    for item_id in sorted(differing):
        old, new = before.get(item_id), after.get(item_id)
        if old is None and new is not None:
            changes.append(
                Change(item_id, new[0], new[2], SoftwareChangeKind.INSTALLED, "", new[1])
            )
        elif new is None and old is not None:
            changes.append(Change(item_id, old[0], old[2], SoftwareChangeKind.REMOVED, old[1], ""))
        elif old is not None and new is not None and old[1] != new[1]:
            kind = (
                SoftwareChangeKind.DOWNGRADED
                if compare_versions(new[1], old[1]) < 0
                else SoftwareChangeKind.UPGRADED
            )
            changes.append(Change(item_id, new[0], new[2], kind, old[1], new[1]))
    return changes

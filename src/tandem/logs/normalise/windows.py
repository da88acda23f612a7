"""Windows events into the EVTX-as-JSON shape Sigma's Windows rules are written for
(decision 0036): `{"Event": {"System": {...}, "EventData": {name: value}}}`.

Accepted inputs:
- EVTX converted to JSON (xmltodict / python-evtx style, with `@Name` attributes and
  `#text`, or the Rust `evtx` crate's `#attributes`), kept in that shape but tidied: attribute
  markers dropped, `EventID` an int, `EventData` a flat map even when the converter wrote a
  list of `{"@Name": ..., "#text": ...}` pairs;
- Winlogbeat / ECS (`winlog.*`), converted into the same shape;
- the rendered event XML itself (what the agent gets from `EvtRender`).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from tandem.logs.normalise.common import NormaliseError, parse_time, stamp
from tandem.logs.normalise.logsource import SYSMON_CATEGORIES, logsource, windows_logsource

# System values that are numbers in the XML schema; EventData stays as the converter wrote it.
_INT_SYSTEM_FIELDS = ("EventID", "Version", "Level", "Task", "Opcode", "EventRecordID")
_PARAM = re.compile(r"param\d+")
# Security 4688 names its fields differently from Sysmon 1; process_creation rules use
# Sysmon's names, so those are added beside the originals (never replacing them).
_ALIASES: dict[tuple[str, int], dict[str, str]] = {
    ("security", 4688): {"Image": "NewProcessName", "ParentImage": "ParentProcessName"},
}


def from_windows(raw: Mapping[str, Any], *, received_at: dt.datetime | None = None) -> dict:
    """Normalise one Windows event given as EVTX-JSON (`Event`) or Winlogbeat (`winlog`)."""
    if isinstance(raw.get("Event"), Mapping):
        event = {"Event": _tidy_evtx(raw["Event"])}
        extra = {k: v for k, v in raw.items() if k != "Event" and not k.startswith("_")}
        event.update(extra)
    elif isinstance(raw.get("winlog"), Mapping):
        event = _from_winlogbeat(raw)
    else:
        raise NormaliseError("not a Windows event: neither `Event` nor `winlog` is an object")
    return _finish(event, received_at)


def from_windows_xml(xml: str, *, received_at: dt.datetime | None = None) -> dict:
    """Normalise one rendered event XML (`<Event xmlns=...><System>...`)."""
    return _finish({"Event": event_xml_to_dict(xml)}, received_at)


def event_xml_to_dict(xml: str) -> dict[str, Any]:
    """The `Event` object of one event XML. Refuses DTDs (entity expansion) outright."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise NormaliseError("event XML with a DTD is refused")
    try:
        # DTDs are refused above, so no entity can expand; expat (>= 2.4.1) also caps
        # amplification. defusedxml would add a dependency for the same guarantee.
        root = ET.fromstring(xml.strip())  # noqa: S314
    except ET.ParseError as exc:
        raise NormaliseError(f"not well-formed event XML: {exc}") from exc
    if _local(root.tag) != "Event":
        raise NormaliseError("the XML root is not <Event>")
    event: dict[str, Any] = {}
    for section in root:
        name = _local(section.tag)
        if name == "System":
            system: dict[str, Any] = {}
            for item in section:
                key = _local(item.tag)
                if item.attrib and key != "EventID":
                    system[key] = {_local(k): v for k, v in item.attrib.items()}
                else:
                    system[key] = (item.text or "").strip()
            event["System"] = system
        elif name == "EventData":
            event["EventData"] = _event_data(
                [
                    {"@Name": item.attrib["Name"], "#text": item.text or ""}
                    if "Name" in item.attrib
                    else (item.text or "")
                    for item in section
                    if _local(item.tag) == "Data"
                ]
            )
        else:
            event[name] = _xml_children(section)
    return _tidy_evtx(event)


def _finish(event: dict[str, Any], received_at: dt.datetime | None) -> dict[str, Any]:
    system = event["Event"].setdefault("System", {})
    data = event["Event"].setdefault("EventData", {})
    event_id = system.get("EventID") if isinstance(system.get("EventID"), int) else None
    provider = system.get("Provider") if isinstance(system.get("Provider"), Mapping) else {}
    channel = system.get("Channel") if isinstance(system.get("Channel"), str) else None
    if str(provider.get("Name", "")).lower() == "linux-sysmon":
        source = logsource("linux", category=SYSMON_CATEGORIES.get(event_id) if event_id else None)
    else:
        source = windows_logsource(channel, event_id, str(data.get("EventType", "")))
    for alias, original in _ALIASES.get((source["service"] or "", event_id or 0), {}).items():
        if original in data and alias not in data:
            data[alias] = data[original]
    created = system.get("TimeCreated")
    when = parse_time(created.get("SystemTime")) if isinstance(created, Mapping) else None
    when = when or received_at or dt.datetime.now(dt.UTC)
    host = system.get("Computer") if isinstance(system.get("Computer"), str) else None
    return stamp(event, source=source, host=host, time=when)


def _tidy_evtx(event: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        k: _strip(v)
        for k, v in event.items()
        if not k.startswith("@xmlns") and k not in ("System", "EventData")
    }
    system = _strip(event.get("System") or {})
    if not isinstance(system, dict):
        raise NormaliseError("Event.System is not an object")
    for key in _INT_SYSTEM_FIELDS:
        if key in system:
            system[key] = _as_int(system[key])
    out["System"] = system
    out["EventData"] = _event_data(event.get("EventData"))
    return out


def _strip(value: Any) -> Any:
    """Drop the converters' attribute markers: `@Name` -> `Name`, `#attributes` merged,
    `{"#text": x, "@Qualifiers": ...}` -> x."""
    if isinstance(value, Mapping):
        if "#text" in value and all(k.startswith(("@", "#")) for k in value):
            return value["#text"]
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.startswith("@xmlns"):
                continue
            if key == "#attributes" and isinstance(item, Mapping):
                out.update({k.lstrip("@"): _strip(v) for k, v in item.items()})
            else:
                out[key.lstrip("@")] = _strip(item)
        return out
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _event_data(value: Any) -> dict[str, Any]:
    """EventData as a flat map. Named `Data` items become keys; unnamed ones (classic
    PowerShell, pre-Vista) are kept in order under `Data` (one string, or a list)."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping) and set(value) - {"Data", "Binary", "@Name", "Name"}:
        return {k.lstrip("@"): _strip(v) for k, v in value.items() if not k.startswith("@xmlns")}
    items = value.get("Data", []) if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        items = [items]
    named: dict[str, Any] = {}
    unnamed: list[Any] = []
    for item in items:
        if isinstance(item, Mapping):
            name = item.get("@Name", item.get("Name"))
            text = item.get("#text", item.get("text", item.get("Value", "")))
            if name is None:
                unnamed.append(text)
            else:
                named[str(name)] = "" if text is None else text
        else:
            unnamed.append(item)
    if unnamed:
        named["Data"] = unnamed[0] if len(unnamed) == 1 else unnamed
    return named


def _from_winlogbeat(raw: Mapping[str, Any]) -> dict[str, Any]:
    winlog = raw["winlog"]
    system: dict[str, Any] = {
        "Provider": {
            k: v
            for k, v in (
                ("Name", winlog.get("provider_name")),
                ("Guid", winlog.get("provider_guid")),
            )
            if v is not None
        },
        "EventID": _as_int(winlog.get("event_id", (raw.get("event") or {}).get("code"))),
        "Channel": winlog.get("channel"),
        "Computer": winlog.get("computer_name")
        or (raw.get("host") or {}).get("hostname")
        or (raw.get("host") or {}).get("name")
        or (raw.get("agent") or {}).get("hostname"),
        "EventRecordID": _as_int(winlog.get("record_id")),
        "TimeCreated": {"SystemTime": raw.get("@timestamp")},
    }
    for ours, theirs in (("Task", "task"), ("Opcode", "opcode"), ("Keywords", "keywords")):
        if winlog.get(theirs) is not None:
            system[ours] = winlog[theirs]
    process = winlog.get("process") or {}
    if process:
        system["Execution"] = {
            "ProcessID": process.get("pid"),
            "ThreadID": (process.get("thread") or {}).get("id"),
        }
    if (winlog.get("user") or {}).get("identifier"):
        system["Security"] = {"UserID": winlog["user"]["identifier"]}
    data = dict(winlog.get("event_data") or {})
    if data and all(_PARAM.fullmatch(k) for k in data):
        # Pre-Vista style (classic PowerShell): Sigma reads the values as `Data`.
        data["Data"] = [data[k] for k in sorted(data, key=lambda k: int(k[5:]))]
    event: dict[str, Any] = {"Event": {"System": system, "EventData": data}}
    if winlog.get("user_data"):
        event["Event"]["UserData"] = winlog["user_data"]
    if isinstance(raw.get("message"), str):
        event["message"] = raw["message"]
    return event


def _xml_children(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    return {_local(child.tag): _xml_children(child) for child in children}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _as_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value

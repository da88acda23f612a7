"""Windows event logs, per channel, from a persisted bookmark (decision 0047).

``wevtutil qe <channel> /q:"*[System[(EventRecordID>N)]]" /f:RenderedXml /c:<limit> /e:Events``
prints the channel's events after record N, oldest first, each as the rendered event XML
(the ``System`` block, ``EventData``, and ``RenderingInfo`` with the message), wrapped in
one ``<Events>`` root. The bookmark of a channel is the ``EventRecordID`` of the last event
queued (record ids only grow within a channel; a cleared log starts again at 1, which the
source notices because the newest record is then below its bookmark).

Each event becomes the JSON shape EVTX converters write and Sigma's Windows rules read:
``{"Event": {"System": {...}, "EventData": {Name: value}, "RenderingInfo": {...}}}``: a
``System`` element with attributes becomes an object of them (``Provider``,
``TimeCreated``, ``Execution``, ``Security``), one without its text; named ``Data`` items
become keys of ``EventData``, unnamed ones a ``Data`` list. The XML is parsed with the
standard library after refusing any DTD (no entity can expand).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tandem_agent.backends.base import CommandResult, Runner, run_command
from tandem_agent.logs.base import Position, ReadResult, SourceError, SourceUnavailable

#: The channels read by default; one absent on a machine (Sysmon not installed) is skipped.
DEFAULT_CHANNELS = (
    "Security",
    "System",
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-PowerShell/Operational",
)


class EventXmlError(ValueError):
    """Output that is not the event XML wevtutil writes."""


def events_from_xml(text: str) -> list[dict[str, Any]]:
    """Every ``<Event>`` in wevtutil's output (with or without the ``<Events>`` root)."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise EventXmlError("event XML with a DTD is refused")
    body = text.strip().lstrip("\ufeff")
    if not body:
        return []
    if not body.startswith("<Events"):
        body = f"<Events>{body}</Events>"
    try:
        # DTDs are refused above, so no entity can expand.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as error:
        raise EventXmlError(f"not well-formed event XML: {error}") from error
    return [{"Event": _event(element)} for element in root if _local(element.tag) == "Event"]


def _event(element: ET.Element) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for section in element:
        name = _local(section.tag)
        if name == "System":
            event["System"] = {
                _local(item.tag): (
                    {_local(k): v for k, v in item.attrib.items()}
                    if item.attrib and _local(item.tag) != "EventID"
                    else (item.text or "").strip()
                )
                for item in section
            }
        elif name == "EventData":
            event["EventData"] = _event_data(section)
        else:
            event[name] = _children(section)
    return event


def _event_data(section: ET.Element) -> dict[str, Any]:
    named: dict[str, Any] = {}
    unnamed: list[str] = []
    for item in section:
        if _local(item.tag) != "Data":
            continue
        if "Name" in item.attrib:
            named[item.attrib["Name"]] = item.text or ""
        else:
            unnamed.append(item.text or "")
    if unnamed:
        named["Data"] = unnamed[0] if len(unnamed) == 1 else unnamed
    return named


def _children(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {_local(k): v for k, v in element.attrib.items()}
    for child in children:
        out[_local(child.tag)] = _children(child)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def record_id(event: dict[str, Any]) -> int | None:
    value = event["Event"].get("System", {}).get("EventRecordID")
    return int(value) if isinstance(value, str) and value.isdigit() else None


class WindowsEventSource:
    """One event log channel, read with wevtutil (``runner`` runs it; tests record it)."""

    def __init__(self, channel: str, *, runner: Runner = run_command) -> None:
        self.channel = channel
        self.name = f"windows:{channel}"
        self.runner = runner

    def _query(self, *args: str) -> list[dict[str, Any]]:
        result: CommandResult = self.runner(
            ["wevtutil", "qe", self.channel, "/f:RenderedXml", "/e:Events", *args]
        )
        reason = f"wevtutil cannot read {self.channel}: {result.stderr.strip()[:200]}"
        if result.returncode in (15007, 127):
            # The channel does not exist here (Sysmon not installed), or no wevtutil.
            raise SourceUnavailable(reason)
        if result.returncode != 0:
            raise SourceError(reason)
        try:
            return events_from_xml(result.stdout)
        except EventXmlError as error:
            raise SourceError(f"{self.channel}: {error}") from error

    def _newest(self) -> int:
        newest = self._query("/c:1", "/rd:true")
        return (record_id(newest[0]) or 0) if newest else 0

    def read(self, position: Position | None, *, max_records: int) -> ReadResult:
        if position is None:
            return ReadResult(position={"record_id": self._newest()})
        after = int(position.get("record_id") or 0)
        query = f"/q:*[System[(EventRecordID>{after})]]"
        events = self._query(query, f"/c:{max_records}", "/rd:false")
        if not events and after and self._newest() < after:
            # The log was cleared: record ids start again from 1.
            events = self._query("/q:*", f"/c:{max_records}", "/rd:false")
        last = max((record_id(e) or 0 for e in events), default=after)
        return ReadResult(events, {"record_id": last}, more=len(events) >= max_records)

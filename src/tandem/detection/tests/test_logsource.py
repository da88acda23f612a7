"""``infer_logsource``: the Sigma log source of an event that carries none."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.detection.engine import LogSource, fields, infer_logsource

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _win(channel: str, event_id: Any, **data: Any) -> dict[str, Any]:
    return {"Event": {"System": {"Channel": channel, "EventID": event_id}, "EventData": data}}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_win(SYSMON, 1), LogSource("windows", "process_creation", "sysmon")),
        (_win(SYSMON, "3"), LogSource("windows", "network_connection", "sysmon")),
        (_win(SYSMON, 13), LogSource("windows", "registry_set", "sysmon")),
        (_win(SYSMON, 12, EventType="CreateKey"), LogSource("windows", "registry_add", "sysmon")),
        (
            _win(SYSMON, 12, EventType="DeleteKey"),
            LogSource("windows", "registry_delete", "sysmon"),
        ),
        (_win("Security", 4688), LogSource("windows", "process_creation", "security")),
        (_win("Security", {"#text": "4625"}), LogSource("windows", None, "security")),
        (
            _win("Microsoft-Windows-PowerShell/Operational", 4104),
            LogSource("windows", "ps_script", "powershell"),
        ),
        (_win("Some/Unknown", 1), LogSource("windows", None, None)),
        (
            {"process": {"command_line": "ls", "name": "ls"}, "event": {"type": ["start"]}},
            LogSource("linux", "process_creation", None),
        ),
        (
            {"message": "x", "log": {"syslog": {"appname": "sshd"}}},
            LogSource("linux", None, "sshd"),
        ),
        (
            {"message": "x", "log": {"syslog": {"appname": "sudo"}}},
            LogSource("linux", None, "sudo"),
        ),
        ({"message": "x", "process": {"name": "kernel"}}, LogSource("linux", None, "syslog")),
        ({"message": "x"}, LogSource()),
        (
            {"_logsource": {"product": "Linux", "service": "auditd"}, "type": "EXECVE"},
            LogSource("linux", None, "auditd"),
        ),
    ],
)
def test_infer_logsource(event: dict[str, Any], expected: LogSource) -> None:
    assert infer_logsource(event) == expected


def test_each_event_shape_is_worked_out_once_and_sysmon_12_each_time() -> None:
    """The log source of a (channel, EventID) is kept and shared: the engine finds the
    rules of an event by that object. Sysmon 12 depends on its EventType too, so two events
    with the same channel and id still get their own category."""
    first, second = infer_logsource(_win(SYSMON, 1)), infer_logsource(_win(SYSMON, 1, x="y"))
    assert first is second
    assert infer_logsource(_win(SYSMON, "1")) is first  # the same parts: the same object
    created = infer_logsource(_win(SYSMON, 12, EventType="CreateKey"))
    deleted = infer_logsource(_win(SYSMON, 12, EventType="DeleteKey"))
    assert (created.category, deleted.category) == ("registry_add", "registry_delete")
    assert infer_logsource(_win(SYSMON, 12, EventType="CreateKey")) == created


def test_a_full_cache_still_infers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels and programs come from the events: past the bound nothing more is kept,
    and every event still gets its log source."""
    monkeypatch.setattr(fields, "SOURCE_CACHE_SIZE", 0)
    monkeypatch.setattr(fields, "_WINDOWS_SOURCES", {})
    monkeypatch.setattr(fields, "_SOURCES", {})
    for n in range(3):
        event = _win("Security", 4688 + n)
        assert infer_logsource(event).service == "security"
    assert infer_logsource({"message": "x", "process": {"name": "cron"}}).service == "cron"
    assert fields._WINDOWS_SOURCES == {} and fields._SOURCES == {}

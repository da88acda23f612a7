"""Events for the archive's tests, in the shapes of contract 1 of issue 12."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# A fixed moment far from any real "today": the archive takes every time explicitly.
T0 = datetime(2021, 5, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def windows_event(
    moment: datetime, host: str = "WS-01", user: str = "alice", **data: Any
) -> dict[str, Any]:
    """A failed logon (4625) in the EVTX-to-JSON shape."""
    return {
        "_time": moment.isoformat(),
        "_received": moment.isoformat(),
        "_host": host,
        "_source": "agent",
        "_logsource": {"product": "windows", "category": None, "service": "security"},
        "Event": {
            "System": {"EventID": 4625, "Channel": "Security", "Computer": host},
            "EventData": {"TargetUserName": user, "LogonType": 3, **data},
        },
    }


def linux_event(moment: datetime, host: str = "srv-01", message: str = "hello") -> dict[str, Any]:
    """An sshd line in the ECS-style shape."""
    return {
        "_time": moment.isoformat().replace("+00:00", "Z"),
        "_host": host,
        "_source": "syslog",
        "_logsource": {"product": "linux", "category": None, "service": "sshd"},
        "@timestamp": moment.isoformat(),
        "message": message,
        "host": {"hostname": host},
        "process": {"name": "sshd", "pid": 812},
        "user": {"name": "root"},
    }


def times_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["_time"] for event in events]

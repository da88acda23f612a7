"""Normalisation of log events into the shapes Sigma rules are written for (decision 0036).

Pure: no Django, no I/O. Every function returns a JSON-able dict carrying `_logsource`,
`_host` and `_time` (plan contract 1) or raises `NormaliseError` with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tandem.logs.normalise.common import NormaliseError
from tandem.logs.normalise.linux import from_journald, from_syslog, parse_auditd
from tandem.logs.normalise.logsource import CATEGORY_PARENTS
from tandem.logs.normalise.windows import from_windows, from_windows_xml
from tandem.logs.syslog.parse import Malformed, parse_syslog

__all__ = [
    "CATEGORY_PARENTS",
    "NormaliseError",
    "from_journald",
    "from_syslog",
    "from_windows",
    "from_windows_xml",
    "normalise_event",
    "parse_auditd",
]

_RESERVED = ("_logsource", "_host", "_time")
# Debian's /var/log/auth.log and Red Hat's /var/log/secure hold the auth facilities only.
_AUTH_FILES = frozenset({"auth.log", "secure"})
_AUTHPRIV_INFO = "<86>"


def normalise_event(
    raw: Any, *, received_at: dt.datetime | None = None, sender: str | None = None
) -> dict[str, Any]:
    """Normalise one event of any shape we accept, recognised by its keys:

    - `{"Event": {...}}` (EVTX as JSON) or `{"winlog": {...}}` (Winlogbeat): Windows;
    - `{"MESSAGE": ...}` / `{"__REALTIME_TIMESTAMP": ...}`: a journald entry;
    - `{"syslog": "<raw line>", "path": ..., "hostname": ...}`: one syslog line; a line
      read from a file (`path`, the agent's file tail) has no PRI, and one from `auth.log`
      or `secure` is taken as authpriv.info; `hostname` (the agent's machine) stands in
      when the line names no host;
    - `{"xml": "<Event ...>"}`: one rendered Windows event XML;
    - an event that already carries `_logsource`, `_host` and `_time`: returned as it is.

    `received_at` stands in for a missing time (and anchors syslog's missing year)."""
    if not isinstance(raw, Mapping):
        raise NormaliseError(f"an event must be a JSON object, not {type(raw).__name__}")
    if all(key in raw for key in _RESERVED):
        return dict(raw)
    if "Event" in raw or "winlog" in raw:
        return from_windows(raw, received_at=received_at)
    if "MESSAGE" in raw or "__REALTIME_TIMESTAMP" in raw:
        return from_journald(raw, received_at=received_at)
    if isinstance(raw.get("syslog"), str):
        line, path = raw["syslog"], raw.get("path")
        if isinstance(path, str) and path.rsplit("/", 1)[-1] in _AUTH_FILES:
            line = line if line.startswith("<") else _AUTHPRIV_INFO + line
        parsed = parse_syslog(line, received_at=received_at or dt.datetime.now(dt.UTC))
        if isinstance(parsed, Malformed):
            raise NormaliseError(f"syslog line is malformed: {parsed.reason}")
        host = raw.get("hostname")
        event = from_syslog(
            parsed, sender=sender, default_host=host if isinstance(host, str) else None
        )
        if isinstance(path, str):
            event["log"]["file"] = {"path": path}
        return event
    if isinstance(raw.get("xml"), str):
        return from_windows_xml(raw["xml"], received_at=received_at)
    raise NormaliseError(
        "unknown event shape: expected Event, winlog, MESSAGE, syslog or xml at the top"
    )

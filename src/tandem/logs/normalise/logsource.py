"""Which Sigma log source an event belongs to (decision 0036; Sigma taxonomy appendix 2.1.0).

Every normalised event carries `_logsource = {"product", "category", "service"}`. The engine
picks candidate rules by it, so these tables decide which rules can ever see an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from tandem.detection.engine import SYSMON_CATEGORIES as ENGINE_SYSMON_CATEGORIES
from tandem.detection.engine import WINDOWS_CHANNELS as ENGINE_WINDOWS_CHANNELS


class LogSource(TypedDict):
    product: str | None
    category: str | None
    service: str | None


def logsource(
    product: str | None, *, category: str | None = None, service: str | None = None
) -> LogSource:
    return {"product": product, "category": category, "service": service}


#: Windows channel (lower case) → Sigma service: the engine's one table, looked up by the
#: channel lower-cased.
CHANNEL_SERVICES: Mapping[str, str] = ENGINE_WINDOWS_CHANNELS

#: Sysmon event id → Sigma category: the engine's one table of the taxonomy (Sysmon 12 is
#: registry_add or registry_delete by its EventType: see ``windows_logsource``).
SYSMON_CATEGORIES: Mapping[int, str] = ENGINE_SYSMON_CATEGORIES
# An event has one category; rules written for the umbrella category also apply to it.
# The engine should treat a rule's category as matching an event of any of its children.
CATEGORY_PARENTS: dict[str, str] = {
    "registry_add": "registry_event",
    "registry_delete": "registry_event",
    "registry_set": "registry_event",
    "registry_rename": "registry_event",
}
# (service, event ID) -> category for the built-in channels that have one.
WINDOWS_EVENT_CATEGORIES: dict[tuple[str, int], str] = {
    ("powershell", 4103): "ps_module",
    ("powershell", 4104): "ps_script",
    ("powershell-classic", 400): "ps_classic_start",
    ("powershell-classic", 600): "ps_classic_provider_start",
    ("powershell-classic", 800): "ps_classic_script",
    # Security 4688 is the built-in process creation event; the Windows normaliser adds
    # the Sysmon field names (Image, ParentImage) so process_creation rules read it.
    ("security", 4688): "process_creation",
}


def windows_logsource(channel: str | None, event_id: int | None, event_type: str = "") -> LogSource:
    service = CHANNEL_SERVICES.get((channel or "").lower())
    category = None
    if event_id is not None and service == "sysmon":
        category = SYSMON_CATEGORIES.get(event_id)
        if event_id == 12 and event_type.lower().startswith("delete"):
            category = "registry_delete"
    elif event_id is not None and service is not None:
        category = WINDOWS_EVENT_CATEGORIES.get((service, event_id))
    return logsource("windows", category=category, service=service)


# Linux program name (syslog APP-NAME / TAG, journald SYSLOG_IDENTIFIER) -> Sigma service.
LINUX_SERVICES: dict[str, str] = {
    "sshd": "sshd",
    "sshd-session": "sshd",  # OpenSSH 9.8 and later log from the per-session process
    "sudo": "sudo",
    "cron": "cron",
    "crond": "cron",
    "anacron": "cron",
    "crontab": "cron",  # "(root) REPLACE (root)" comes from crontab, not the daemon
    "vsftpd": "vsftpd",
    "clamd": "clamav",
    "clamav": "clamav",
    "clamscan": "clamav",
    "clamdscan": "clamav",
    "freshclam": "clamav",
    "auditd": "auditd",
    "audit": "auditd",
    "audispd": "auditd",
    "audisp-syslog": "auditd",
    "guacd": "guacamole",
    "guacamole": "guacamole",
}
# Facilities auth (4) and authpriv (10): /var/log/auth.log and /var/log/secure.
AUTH_FACILITIES = frozenset({4, 10})


def linux_service(appname: str | None, facility: int | None) -> str:
    """The Sigma service of a Linux log line: by program, else `auth` for the auth
    facilities (su, login, passwd, useradd, systemd-logind, ...), else `syslog`."""
    name = (appname or "").rsplit("/", 1)[-1].lower()
    if name in LINUX_SERVICES:
        return LINUX_SERVICES[name]
    if facility in AUTH_FACILITIES:
        return "auth"
    return "syslog"

"""Where a Sigma field is in a normalised event, and which log source an event belongs to.

The event shapes are those of the issue-12 contract (docs/decisions/0034):

- **Windows** (EVTX converted to JSON): ``Event.EventData.<F>`` first, then
  ``Event.System.<F>`` (``EventID``, ``Channel``, ``Computer``, ...); ``Provider_Name`` is
  ``Event.System.Provider.Name``. A value written ``{"#text": ...}`` by some converters is
  read as its text. A Security 4688 event answers the Sysmon process-creation names
  (``Image`` is ``NewProcessName``, ``ParentImage`` ``ParentProcessName``, ``User``
  ``SubjectUserName``) when the event does not have them itself.
- **Linux / syslog / journald** (ECS-style nested fields): the Sigma field names of the Linux
  rules through :data:`ECS_FIELDS` (``Image`` is ``process.executable``, ...).
- **Any event**: a top-level key, then a dotted path (``process.parent.name``).

Reserved keys (``_logsource``, ``_host``, ``_time``) are never event data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tandem.detection.engine.rules import LogSource

#: Sigma field (Linux and Sysmon-for-Linux rules) → ECS path. Checked after the event's own
#: top-level key, so an event that carries the Sigma name directly wins.
ECS_FIELDS: dict[str, str] = {
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ProcessId": "process.pid",
    "CurrentDirectory": "process.working_directory",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "ParentProcessId": "process.parent.pid",
    "User": "user.name",
    "LogonId": "user.id",
    "TargetFilename": "file.path",
    "DestinationHostname": "destination.domain",
    "DestinationIp": "destination.ip",
    "DestinationPort": "destination.port",
    "SourceIp": "source.ip",
    "SourcePort": "source.port",
    "Computer": "host.hostname",
    # auditd rules (raw auditd record fields)
    "exe": "process.executable",
    "comm": "process.name",
    "pid": "process.pid",
    "ppid": "process.parent.pid",
    # syslog-level names some rules use
    "hostname": "host.hostname",
    "appname": "log.syslog.appname",
    "procid": "log.syslog.procid",
    "msg": "message",
}

#: Security 4688 (process creation) names for the Sysmon taxonomy's fields.
WINDOWS_ALIASES: dict[str, str] = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "User": "SubjectUserName",
}

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def _text(value: Any) -> Any:
    if isinstance(value, dict) and "#text" in value:
        return value["#text"]
    return value


def _path(event: Any, path: str) -> Any:
    node = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def resolve(event: dict[str, Any], name: str) -> Any:
    """The value of Sigma field ``name`` in ``event``, or :data:`MISSING`."""
    windows = event.get("Event")
    if isinstance(windows, dict):
        data = windows.get("EventData")
        if isinstance(data, dict) and name in data:
            return _text(data[name])
        system = windows.get("System")
        if isinstance(system, dict):
            if name in system:
                return _text(system[name])
            if name == "Provider_Name":
                provider = system.get("Provider")
                if isinstance(provider, dict) and "Name" in provider:
                    return provider["Name"]
        alias = WINDOWS_ALIASES.get(name)
        if alias is not None and isinstance(data, dict) and alias in data:
            return _text(data[alias])
    if name in event and not name.startswith("_"):
        return event[name]
    ecs = ECS_FIELDS.get(name)
    if ecs is not None:
        found = _path(event, ecs)
        if found is not MISSING:
            return found
    if "." in name:
        return _path(event, name)
    return MISSING


def leaves(value: Any) -> Iterator[Any]:
    """Every scalar value in the event (lists and nested maps walked), reserved keys left
    out: what keywords search and what the prefilter's text is made of."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not (isinstance(key, str) and key.startswith("_")):
                yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif value is not None:
        yield value


def texts_of(event: dict[str, Any]) -> list[str]:
    """Every scalar of the event as text (:func:`as_text`), in :func:`leaves` order: written
    out without generators, and without a call per value (strings, the most common, are
    appended where they are found), since every event pays for it."""
    out: list[str] = []
    append = out.append

    def scalar(value: Any, kind: type) -> None:
        if kind is bool:
            append("true" if value else "false")
        elif kind is int or kind is float:
            append(str(value))
        elif value is not None:
            text = as_text(value)
            if text is not None:
                append(text)

    def mapping(node: dict[Any, Any]) -> None:
        for key, item in node.items():
            if type(key) is str and key[:1] == "_":
                continue
            kind = type(item)
            if kind is str:
                append(item)
            elif kind is dict:
                mapping(item)
            elif kind is list:
                sequence(item)
            else:
                scalar(item, kind)

    def sequence(node: list[Any]) -> None:
        for item in node:
            kind = type(item)
            if kind is str:
                append(item)
            elif kind is dict:
                mapping(item)
            elif kind is list:
                sequence(item)
            else:
                scalar(item, kind)

    kind = type(event)
    if kind is dict:
        mapping(event)
    elif kind is list:
        sequence(event)  # type: ignore[arg-type]
    elif kind is str:
        append(event)  # type: ignore[arg-type]
    else:
        scalar(event, kind)
    return out


def event_id(event: dict[str, Any]) -> Any:
    """A Windows event's ``EventID`` as an int; None when the event has none; the value as
    it is when it is something else (the index then leaves the event's rules unfiltered)."""
    windows = event.get("Event")
    if type(windows) is dict:
        # The usual shape, without :func:`resolve`'s general walk: an integer
        # ``System.EventID`` and no ``EventData.EventID`` (which would come first).
        data = windows.get("EventData")
        system = windows.get("System")
        if (type(data) is not dict or "EventID" not in data) and type(system) is dict:
            value = system.get("EventID")
            if type(value) is int:
                return value
    value = resolve(event, "EventID") if isinstance(windows, dict) or "EventID" in event else None
    if value is MISSING or value is None:
        return None
    value = _text(value)
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return UNKNOWN_ID


#: An ``EventID`` that is neither absent nor a whole number.
UNKNOWN_ID: Any = type("UnknownId", (), {"__repr__": lambda self: "UNKNOWN_ID"})()


def as_text(value: Any) -> str | None:
    """A scalar as the text string tests compare with (numbers as decimals, booleans as
    ``true``/``false``); None for maps and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


# --- Log sources ------------------------------------------------------------------------

#: Rule category → further event categories it covers (Sigma taxonomy: ``registry_event``
#: is Sysmon 12-14, which the finer categories split).
CATEGORY_COVERS: dict[str, frozenset[str]] = {
    "registry_event": frozenset(
        {"registry_event", "registry_add", "registry_delete", "registry_set", "registry_rename"}
    ),
}

#: Windows channel (lower case) → Sigma service: the one table of the taxonomy, which the log
#: normaliser imports too (pySigma's windows_logsource_mapping plus the channels the SigmaHQ
#: rules use; a service with two spellings of its channel lists both).
WINDOWS_CHANNELS: dict[str, str] = {
    "security": "security",
    "system": "system",
    "application": "application",
    "microsoft-windows-sysmon/operational": "sysmon",
    "microsoft-windows-powershell/operational": "powershell",
    "windows powershell": "powershell-classic",
    "microsoft-windows-windows defender/operational": "windefend",
    "microsoft-windows-taskscheduler/operational": "taskscheduler",
    "microsoft-windows-wmi-activity/operational": "wmi",
    "dns server": "dns-server",
    "microsoft-windows-dns-server/audit": "dns-server-audit",
    "microsoft-windows-dns client events/operational": "dns-client",
    "microsoft-windows-dns-client/operational": "dns-client",
    "microsoft-windows-driverframeworks-usermode/operational": "driver-framework",
    "microsoft-windows-ntlm/operational": "ntlm",
    "microsoft-windows-dhcp-server/operational": "dhcp",
    "msexchange management": "msexchange-management",
    "microsoft-windows-applocker/exe and dll": "applocker",
    "microsoft-windows-applocker/msi and script": "applocker",
    "microsoft-windows-applocker/packaged app-deployment": "applocker",
    "microsoft-windows-applocker/packaged app-execution": "applocker",
    "microsoft-windows-printservice/admin": "printservice-admin",
    "microsoft-windows-printservice/operational": "printservice-operational",
    "microsoft-windows-codeintegrity/operational": "codeintegrity-operational",
    "microsoft-windows-smbclient/security": "smbclient-security",
    "microsoft-windows-smbserver/connectivity": "smbserver-connectivity",
    "microsoft-windows-windows firewall with advanced security/firewall": "firewall-as",
    "microsoft-windows-bits-client/operational": "bits-client",
    "microsoft-windows-terminalservices-localsessionmanager/operational": (
        "terminalservices-localsessionmanager"
    ),
    "microsoft-servicebus-client": "microsoft-servicebus-client",
    "microsoft-windows-appxdeploymentserver/operational": "appxdeployment-server",
    "microsoft-windows-appxdeployment-server/operational": "appxdeployment-server",
    "microsoft-windows-appxpackaging/operational": "appxpackaging-om",
    "microsoft-windows-appmodel-runtime/admin": "appmodel-runtime",
    "microsoft-iis-configuration/operational": "iis-configuration",
    "microsoft-windows-security-mitigations/kernel mode": "security-mitigations",
    "microsoft-windows-security-mitigations/user mode": "security-mitigations",
    "microsoft-windows-shell-core/operational": "shell-core",
    "openssh/operational": "openssh",
    "microsoft-windows-lsa/operational": "lsa-server",
    "microsoft-windows-ldap-client/debug": "ldap",
    "microsoft-windows-diagnosis-scripted/operational": "diagnosis-scripted",
    "microsoft-windows-certificateservicesclient-lifecycle-system/operational": (
        "certificateservicesclient-lifecycle-system"
    ),
    "microsoft-windows-capi2/operational": "capi2",
    "microsoft-windows-bitlocker/bitlocker management": "bitlocker",
}

#: Sysmon event id → Sigma category.
SYSMON_CATEGORIES: dict[int, str] = {
    1: "process_creation",
    2: "file_change",
    3: "network_connection",
    4: "sysmon_status",
    5: "process_termination",
    6: "driver_load",
    7: "image_load",
    8: "create_remote_thread",
    9: "raw_access_thread",
    10: "process_access",
    11: "file_event",
    12: "registry_add",
    13: "registry_set",
    14: "registry_rename",
    15: "create_stream_hash",
    16: "sysmon_status",
    17: "pipe_created",
    18: "pipe_created",
    19: "wmi_event",
    20: "wmi_event",
    21: "wmi_event",
    22: "dns_query",
    23: "file_delete",
    24: "clipboard_capture",
    25: "process_tampering",
    26: "file_delete_detected",
    27: "file_block_executable",
    28: "file_block_shredding",
    29: "file_executable_detected",
    255: "sysmon_error",
}

#: (service, event id) → Sigma category for the built-in channels.
WINDOWS_CATEGORIES: dict[tuple[str, int], str] = {
    ("security", 4688): "process_creation",
    ("powershell", 4103): "ps_module",
    ("powershell", 4104): "ps_script",
    ("powershell-classic", 400): "ps_classic_start",
    ("powershell-classic", 600): "ps_classic_provider_start",
    ("powershell-classic", 800): "ps_classic_script",
}

#: syslog program → Sigma service (product linux).
LINUX_SERVICES: dict[str, str] = {
    "sshd": "sshd",
    "sudo": "sudo",
    "su": "auth",
    "login": "auth",
    "passwd": "auth",
    "useradd": "auth",
    "cron": "cron",
    "crond": "cron",
    "named": "syslog",
    "clamd": "clamav",
    "vsftpd": "vsftpd",
    "auditd": "auditd",
}


def _int(value: Any) -> int | None:
    value = _text(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


#: At most this many entries in each of the log-source caches below: their keys come from
#: the events (a channel name, a syslog program), so a stream of odd ones must not grow them
#: without end; past it, a new key is worked out each time.
SOURCE_CACHE_SIZE = 4096

#: (channel, ``EventID``) as a Windows event writes them → its log source; and
#: (product, category, service) → one shared :class:`LogSource`. Inferring the log source
#: from the event's fields, and building the frozen :class:`LogSource`, cost about as much
#: as parsing the event; most streams have a few dozen shapes (decision 0034).
_WINDOWS_SOURCES: dict[tuple[Any, Any], LogSource] = {}
_SOURCES: dict[tuple[str | None, str | None, str | None], LogSource] = {}


def _source(product: str | None, category: str | None, service: str | None) -> LogSource:
    """The one :class:`LogSource` of these parts: the engine finds its bucket of rules by
    the object's identity first (:meth:`.matching.Engine.candidates`)."""
    key = (product, category, service)
    source = _SOURCES.get(key)
    if source is None:
        source = LogSource(product, category, service)
        if len(_SOURCES) < SOURCE_CACHE_SIZE:
            _SOURCES[key] = source
    return source


def infer_logsource(event: dict[str, Any]) -> LogSource:
    """The event's ``_logsource`` when it has one; otherwise what its shape says: a Windows
    event's channel gives the service (Sysmon's event id the category, and Security 4688,
    PowerShell 4103/4104 theirs); an ECS event with ``log.syslog.appname`` or
    ``process.name`` is Linux, the program giving the service (sshd, sudo, cron, ...); an
    ECS event with ``process.command_line`` and ``event.type`` start is process creation."""
    given = event.get("_logsource")
    if isinstance(given, dict):
        return _source(
            _lower(given.get("product")),
            _lower(given.get("category")),
            _lower(given.get("service")),
        )
    windows = event.get("Event")
    if isinstance(windows, dict):
        system = windows.get("System")
        if not isinstance(system, dict):
            return _windows_source(windows, {})
        key = (system.get("Channel"), system.get("EventID"))
        if type(key[0]) is not str or type(key[1]) not in (int, str):
            return _windows_source(windows, system)  # a {"#text": ...} or odd value
        source = _WINDOWS_SOURCES.get(key)
        if source is None:
            source = _windows_source(windows, system)
            # Sysmon 12's category depends on its EventType too: not cached.
            keep = source.service != "sysmon" or _int(key[1]) != 12
            if keep and len(_WINDOWS_SOURCES) < SOURCE_CACHE_SIZE:
                _WINDOWS_SOURCES[key] = source
        return source
    syslog = _path(event, "log.syslog.appname")
    program = syslog if isinstance(syslog, str) else _path(event, "process.name")
    kinds = _path(event, "event.type")
    if _path(event, "process.command_line") is not MISSING and (
        kinds == "start" or (isinstance(kinds, list) and "start" in kinds)
    ):
        return _source("linux", "process_creation", None)
    if isinstance(program, str):
        return _source("linux", None, LINUX_SERVICES.get(program.lower(), "syslog"))
    return _source(None, None, None)


def _windows_source(windows: dict[str, Any], system: dict[str, Any]) -> LogSource:
    """A Windows event's log source, from its channel and event id (and Sysmon 12's
    EventType)."""
    channel = str(_text(system.get("Channel")) or "").lower()
    service = WINDOWS_CHANNELS.get(channel)
    event_id = _int(system.get("EventID"))
    category = None
    if service == "sysmon" and event_id is not None:
        category = SYSMON_CATEGORIES.get(event_id)
        data = windows.get("EventData")
        kind = data.get("EventType") if isinstance(data, dict) else None
        if event_id == 12 and isinstance(kind, str) and kind.lower().startswith("delete"):
            category = "registry_delete"  # Sysmon 12 is a key created or deleted
    elif service is not None and event_id is not None:
        category = WINDOWS_CATEGORIES.get((service, event_id))
    return _source("windows", category, service)


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def logsource_applies(rule: LogSource, event: LogSource) -> bool:
    """A rule's log source applies to an event's when each part the rule names is the
    event's (a part the rule leaves out is any)."""
    if rule.product is not None and rule.product != event.product:
        return False
    if rule.service is not None and rule.service != event.service:
        return False
    if rule.category is not None and rule.category != event.category:
        covers = CATEGORY_COVERS.get(rule.category)
        if covers is None or event.category not in covers:
            return False
    return True

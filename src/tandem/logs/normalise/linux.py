"""Linux log lines (syslog messages and journald entries) into ECS-style events
(decision 0036).

Sigma's Linux rules mostly search keywords in the message, so `message` is kept whole.
Beyond the ECS fields, three things make the rules fire:
- auditd records (`type=EXECVE msg=audit(...): argc=3 a0="ls" ...`) have their `key=value`
  pairs as top-level fields (`type`, `a0`, `exe`, `key`, ...), hex-encoded values decoded,
  as Sigma's auditd rules name them;
- Sysmon for Linux logs its events as XML in the message: they become the `Event.System` /
  `Event.EventData` shape with product linux and the category of their event ID;
- sshd and sudo lines fill `user.name`, `source.ip`, `event.outcome` for the alerts' key
  fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from tandem.logs.normalise.common import NormaliseError, iso_utc, stamp
from tandem.logs.normalise.logsource import SYSMON_CATEGORIES, linux_service, logsource
from tandem.logs.normalise.windows import event_xml_to_dict
from tandem.logs.syslog.parse import FACILITIES, SEVERITIES, SyslogMessage


def from_syslog(
    msg: SyslogMessage,
    *,
    sender: str | None = None,
    invalid_utf8: bool = False,
    default_host: str | None = None,
) -> dict[str, Any]:
    """Normalise one parsed syslog message. `sender` is the address it came from;
    `default_host` the host an agent read the line on. The message's own hostname wins,
    then `default_host`, then the sender's IP. `invalid_utf8` marks a message decoded with
    U+FFFD."""
    syslog: dict[str, Any] = {
        "facility": {"code": msg.facility, "name": msg.facility_name},
        "severity": {"code": msg.severity, "name": msg.severity_name},
        "priority": msg.priority,
        "hostname": msg.hostname,
        "appname": msg.appname,
        "procid": msg.procid,
        "msgid": msg.msgid,
    }
    if msg.version is not None:
        syslog["version"] = str(msg.version)
    if msg.structured_data:
        syslog["structured_data"] = msg.structured_data
    log: dict[str, Any] = {"syslog": syslog, "format": msg.format}
    if sender:
        log["source"] = {"address": sender}
    if msg.time_source == "received":
        log["time_source"] = "received"
    event = _linux_event(
        time=msg.timestamp,
        message=msg.message,
        hostname=msg.hostname or default_host or _sender_host(sender),
        appname=msg.appname,
        pid=msg.procid,
        facility=msg.facility,
        log=log,
    )
    if invalid_utf8:
        event["tags"] = ["invalid_utf8"]
    return event


def from_journald(
    entry: Mapping[str, Any], *, received_at: dt.datetime | None = None
) -> dict[str, Any]:
    """Normalise one `journalctl -o json` entry."""
    if "MESSAGE" not in entry and "__REALTIME_TIMESTAMP" not in entry:
        raise NormaliseError("not a journald entry: no MESSAGE and no __REALTIME_TIMESTAMP")
    # The time the program logged, when journald has it; else when journald received it.
    when = _journald_time(entry.get("_SOURCE_REALTIME_TIMESTAMP"))
    when = when or _journald_time(entry.get("__REALTIME_TIMESTAMP")) or received_at
    when = when or dt.datetime.now(dt.UTC)
    facility = _int(entry.get("SYSLOG_FACILITY"))
    severity = _int(entry.get("PRIORITY"))
    appname = _text(entry.get("SYSLOG_IDENTIFIER")) or _text(entry.get("_COMM"))
    syslog: dict[str, Any] = {"appname": appname, "procid": _text(entry.get("_PID"))}
    if facility is not None and 0 <= facility < len(FACILITIES):
        syslog["facility"] = {"code": facility, "name": FACILITIES[facility]}
    if severity is not None and 0 <= severity < len(SEVERITIES):
        syslog["severity"] = {"code": severity, "name": SEVERITIES[severity]}
    log: dict[str, Any] = {"syslog": syslog, "format": "journald"}
    message = _text(entry.get("MESSAGE")) or ""
    audit_type = _text(entry.get("_AUDIT_TYPE_NAME"))
    if _text(entry.get("_TRANSPORT")) == "audit" and audit_type and not message.startswith("type="):
        message = f"type={audit_type} " + message.removeprefix(audit_type).lstrip()
    event = _linux_event(
        time=when,
        message=message,
        hostname=_text(entry.get("_HOSTNAME")),
        appname=appname,
        pid=_text(entry.get("_PID")),
        facility=facility,
        log=log,
    )
    process = event.setdefault("process", {})
    for ours, theirs in (("executable", "_EXE"), ("command_line", "_CMDLINE")):
        if _text(entry.get(theirs)):
            process[ours] = _text(entry[theirs])
    if _text(entry.get("_UID")) is not None:
        event.setdefault("user", {})["id"] = _text(entry["_UID"])
    if _text(entry.get("_SYSTEMD_UNIT")):
        event["systemd"] = {"unit": _text(entry["_SYSTEMD_UNIT"])}
    return event


def _linux_event(
    *,
    time: dt.datetime,
    message: str,
    hostname: str | None,
    appname: str | None,
    pid: str | None,
    facility: int | None,
    log: dict[str, Any],
) -> dict[str, Any]:
    when = iso_utc(time)
    event: dict[str, Any] = {"@timestamp": when, "message": message, "log": log}
    if hostname:
        event["host"] = {"hostname": hostname}
    if appname:
        event["process"] = {"name": appname}
        if pid and pid.isdigit():
            event["process"]["pid"] = int(pid)
    service: str | None = linux_service(appname, facility)
    audit = parse_auditd(message)
    if audit:
        service = "auditd"
        event.update({k: v for k, v in audit.items() if k not in event})
    category = None
    if (appname or "").lower() == "sysmon" and message.lstrip().startswith("<Event"):
        try:
            event["Event"] = event_xml_to_dict(message)
            category = _sysmon_linux_category(event)
            service = None
        except NormaliseError:
            pass  # kept as a plain syslog line; the message still carries the text
    _enrich(event, service, message)
    source = logsource("linux", category=category, service=service)
    return stamp(event, source=source, host=hostname, time=when)


def _sysmon_linux_category(event: dict[str, Any]) -> str | None:
    # Sysmon for Linux keeps the Windows event IDs for the events it shares.
    event_id = event["Event"]["System"].get("EventID")
    return SYSMON_CATEGORIES.get(event_id) if isinstance(event_id, int) else None


# --- auditd -----------------------------------------------------------------------------

# journald's audit transport leaves out the `msg=audit(time:serial):` part.
_AUDIT_START = re.compile(
    r"(?:node=\S+ )?type=([A-Z_0-9]+)(?: msg=audit\((\d+\.\d+):(\d+)\):?)?(?: |$)"
)
_AUDIT_PAIR = re.compile(r"([A-Za-z_][\w-]*)=(\"[^\"]*\"|'[^']*'|\S*)")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
# Fields auditd writes hex-encoded when the value has a space, a quote or a control char.
_HEX_FIELDS = frozenset({"name", "proctitle", "exe", "comm", "cwd", "key", "data", "cmd"})
_EXECVE_ARG = re.compile(r"a\d+")


def parse_auditd(message: str) -> dict[str, Any] | None:
    """The fields of one auditd record, or None when the line is not one. Values come
    unquoted; hex-encoded ones are decoded; the nested `msg='...'` of user-space records
    (USER_AUTH, USER_CMD, ...) is opened too. `type` is the record type (EXECVE, SYSCALL,
    PATH, ...)."""
    start = _AUDIT_START.match(message)
    if not start:
        return None
    record_type = start.group(1)
    fields: dict[str, Any] = {"type": record_type}
    if start.group(2):
        fields["audit"] = {"time": start.group(2), "serial": start.group(3)}
    if message.startswith("node="):
        fields["node"] = message[5:].split(" ", 1)[0]
    for key, raw in _AUDIT_PAIR.findall(message, start.end()):
        if key in fields:
            continue
        if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
            inner = raw[1:-1]
            fields[key] = inner
            for ikey, ival in _AUDIT_PAIR.findall(inner):
                fields.setdefault(ikey, _audit_value(record_type, ikey, ival))
            continue
        fields[key] = _audit_value(record_type, key, raw)
    return fields


def _audit_value(record_type: str, key: str, raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1]
    hexable = key in _HEX_FIELDS or (record_type == "EXECVE" and _EXECVE_ARG.fullmatch(key))
    if hexable and _HEX.fullmatch(raw):
        decoded = bytes.fromhex(raw).decode("utf-8", "replace")
        # proctitle separates the arguments with NULs: show them as spaces.
        return decoded.replace("\x00", " ").rstrip()
    return raw


# --- sshd and sudo ----------------------------------------------------------------------

_SSH_FAILED = re.compile(r"Failed (\S+) for (?:invalid user )?(\S*) from (\S+) port (\d+)")
_SSH_ACCEPTED = re.compile(r"Accepted (\S+) for (\S+) from (\S+) port (\d+)")
_SSH_INVALID = re.compile(r"Invalid user (\S*) from (\S+)(?: port (\d+))?")
_SUDO = re.compile(
    r"^\s*(\S+) : (?:(.*?) ; )?TTY=(\S+) ; PWD=(.*?) ; USER=(\S+) ;(?:.*?;)* COMMAND=(.*)$"
)


def _enrich(event: dict[str, Any], service: str | None, message: str) -> None:
    if service == "sshd":
        for pattern, outcome in (
            (_SSH_FAILED, "failure"),
            (_SSH_ACCEPTED, "success"),
        ):
            found = pattern.search(message)
            if found:
                method, user, ip, port = found.groups()
                _auth(event, outcome, user, ip, int(port), method)
                return
        invalid = _SSH_INVALID.search(message)
        if invalid:
            user, ip, port = invalid.groups()
            _auth(event, "failure", user, ip, int(port) if port else None, None)
    elif service == "sudo":
        found = _SUDO.match(message)
        if found:
            user, problem, tty, pwd, target, command = found.groups()
            event.setdefault("user", {})["name"] = user
            event["user"]["effective"] = {"name": target}
            event["sudo"] = {"command": command, "tty": tty, "pwd": pwd}
            event["event"] = {
                "category": ["process"],
                "action": "sudo",
                "outcome": "failure" if problem else "success",
            }


def _auth(
    event: dict[str, Any],
    outcome: str,
    user: str,
    ip: str,
    port: int | None,
    method: str | None,
) -> None:
    event.setdefault("user", {})["name"] = user
    event["source"] = {"ip": ip} | ({"port": port} if port else {})
    event["event"] = {
        "category": ["authentication"],
        "type": ["start"],
        "action": "ssh_login",
        "outcome": outcome,
    }
    if method:
        event["event"]["method"] = method


# --- helpers ----------------------------------------------------------------------------


def _journald_time(value: Any) -> dt.datetime | None:
    micros = _int(value)
    if micros is None:
        return None
    try:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    except OverflowError:
        return None


def _text(value: Any) -> str | None:
    """journald writes a binary field as a list of byte values and a repeated one as a
    list of strings."""
    if value is None:
        return None
    if isinstance(value, list):
        if value and all(isinstance(b, int) and 0 <= b < 256 for b in value):
            return bytes(value).decode("utf-8", "replace")
        return " ".join(str(v) for v in value)
    return str(value)


def _int(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text is not None and text.strip().isdigit() else None


def _sender_host(sender: str | None) -> str | None:
    """The IP of an `ip:port` / `[v6]:port` sender address."""
    if not sender:
        return None
    if sender.startswith("["):
        return sender[1:].split("]", 1)[0]
    host, sep, port = sender.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else sender

"""A tolerant parser for syslog messages: RFC 5424 and RFC 3164 with real-world variants
(decision 0036).

Pure functions, no Django, no I/O. The parser never raises on input: a line it cannot make
sense of comes back as a `Malformed` outcome with a short reason, which the listener counts
per sender. RFC 3164 itself says a relay must accept anything (a line without a PRI becomes
`user.notice` with the whole line as the message, §4.3.3), so "malformed" is kept narrow:
empty lines, binary garbage, and messages that claim RFC 5424 but break its header.

Times come back as aware UTC datetimes. RFC 3164 times have no year and no zone: the year is
the one that puts the time closest to when the message was received (a December message
received on 1 January belongs to last year), and the zone is the one configured for the
sender, UTC by default.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

UTC = dt.UTC

FACILITIES = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",  # "log audit"
    "console",  # "log alert"
    "solaris-cron",  # "clock daemon"
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
)
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

# RFC 3164 §4.3.3: a message without a (valid) PRI is user.notice.
DEFAULT_PRI = 13
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One parsed message. `time_source` says whether `timestamp` came from the message or,
    when it had none (or an unsynchronised Cisco clock, marked `*`), from the receive time.
    `structured_data` maps SD-ID to its parameters; a parameter repeated in one element
    (allowed by RFC 5424) keeps every value in a list."""

    format: Literal["rfc5424", "rfc3164"]
    facility: int
    severity: int
    timestamp: dt.datetime
    hostname: str | None
    appname: str | None
    procid: str | None
    msgid: str | None
    message: str
    structured_data: dict[str, dict[str, str | list[str]]] = field(default_factory=dict)
    version: int | None = None
    time_source: Literal["message", "received"] = "message"

    @property
    def priority(self) -> int:
        return self.facility * 8 + self.severity

    @property
    def facility_name(self) -> str:
        return FACILITIES[self.facility]

    @property
    def severity_name(self) -> str:
        return SEVERITIES[self.severity]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that carries no usable message; `reason` is one short word for the counters."""

    reason: str
    raw: str


# How far ahead of its receipt a yearless time may be (a sender's clock running fast).
_FUTURE_TOLERANCE = dt.timedelta(days=2)
_PRI = re.compile(r"<(\d{1,3})>")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?"
)
_5424_HEAD = re.compile(r"(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+)(?: |$)")
# "Mmm dd hh:mm:ss", day space- or zero-padded, optional fraction, optional year (Cisco
# "service timestamps log datetime year"), optional zone name, optional trailing colon.
_BSD_TIME = re.compile(
    r"([A-Za-z]{3}) +(\d{1,2})(?: +(\d{4}))? +(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?: +(UTC|GMT|Z))?:?(?: |$)"
)
_CISCO_SEQ = re.compile(r"\d{1,10}: ")
_TAG = re.compile(r"([^\s\[\]:]{1,64})(?:\[([^\]\s]{0,32})\])?:(?: |$)")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-:%]{0,254}")
_SD_NAME = re.compile(r"[^\s=\]\"]{1,32}")
_SD_VALUE = re.compile(r'((?:[^"\\]|\\.)*)"', re.DOTALL)  # up to the closing quote
_SD_ESCAPE = re.compile(r'\\(["\\\]])')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def parse_syslog(
    line: str,
    *,
    received_at: dt.datetime,
    default_tz: dt.tzinfo = UTC,
) -> SyslogMessage | Malformed:
    """Parse one syslog message (framing already removed). Never raises.

    `received_at` (aware) anchors RFC 3164's missing year and stands in for a missing time;
    `default_tz` is the sender's zone for times that carry none."""
    text = line.rstrip("\r\n\x00")
    if not text.strip():
        return Malformed("empty", line)
    if _looks_binary(text):
        return Malformed("binary", line)
    pri = _PRI.match(text)
    facility, severity = divmod(DEFAULT_PRI, 8)
    rest = text
    if pri and int(pri.group(1)) <= 191:
        facility, severity = divmod(int(pri.group(1)), 8)
        rest = text[pri.end() :]
        head = _5424_HEAD.match(rest)
        if head and (head.group(2) == "-" or _RFC3339.fullmatch(head.group(2))):
            return _parse_5424(text, rest, head, facility, severity, received_at, default_tz)
    # No or an unidentifiable PRI: RFC 3164 §4.3.3 keeps the whole line as the message.
    return _parse_3164(rest, facility, severity, received_at, default_tz)


def _looks_binary(text: str) -> bool:
    """Garbage, not text: a NUL inside, or more than a tenth control/replacement chars."""
    if text.isprintable():  # the common case, and cheap
        return False
    if "\x00" in text:
        return True
    sample = text[:2048]
    return len(_CONTROL.findall(sample)) * 10 > len(sample)


def _parse_5424(
    raw: str,
    rest: str,
    head: re.Match[str],
    facility: int,
    severity: int,
    received_at: dt.datetime,
    default_tz: dt.tzinfo,
) -> SyslogMessage | Malformed:
    version, stamp, hostname, appname, procid, msgid = head.groups()
    time_source: Literal["message", "received"] = "message"
    if stamp == "-":
        timestamp, time_source = _utc(received_at), "received"
    else:
        parsed = parse_rfc3339(stamp, default_tz)
        if parsed is None:
            return Malformed("bad_timestamp", raw)
        timestamp = parsed
    body = rest[head.end() :]
    if body.startswith("-"):
        sd: dict[str, dict[str, str | list[str]]] = {}
        body = body[1:]
    elif body.startswith("["):
        parsed_sd = _parse_structured_data(body)
        if parsed_sd is None:
            return Malformed("bad_structured_data", raw)
        sd, used = parsed_sd
        body = body[used:]
    elif body == "":
        sd = {}
    else:
        # Tolerance: some senders leave out the SD field altogether.
        sd = {}
        body = " " + body
    if body.startswith(" "):
        body = body[1:]
    elif body:
        return Malformed("bad_structured_data", raw)
    return SyslogMessage(
        format="rfc5424",
        facility=facility,
        severity=severity,
        timestamp=timestamp,
        hostname=_nil(hostname),
        appname=_nil(appname),
        procid=_nil(procid),
        msgid=_nil(msgid),
        message=body.removeprefix("\ufeff"),
        structured_data=sd,
        version=int(version),
        time_source=time_source,
    )


def _parse_structured_data(
    text: str,
) -> tuple[dict[str, dict[str, str | list[str]]], int] | None:
    """Parse one or more `[id k="v" ...]` elements at the start of text; return them and the
    number of characters used, or None when they are broken. Inside a value, backslash
    escapes `"`, `\\` and `]`; any other backslash is kept as it is (RFC 5424 §6.3.3)."""
    elements: dict[str, dict[str, str | list[str]]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        i += 1
        name = _SD_NAME.match(text, i)
        if not name:
            return None
        params: dict[str, str | list[str]] = {}
        i = name.end()
        while i < n and text[i] == " ":
            i += 1
            pname = _SD_NAME.match(text, i)
            if not pname or text[pname.end() : pname.end() + 2] != '="':
                return None
            value = _SD_VALUE.match(text, pname.end() + 2)
            if not value:
                return None  # no closing quote
            i = value.end()
            key, val = pname.group(0), _SD_ESCAPE.sub(r"\1", value.group(1))
            previous = params.get(key)
            if previous is None:
                params[key] = val
            elif isinstance(previous, list):
                previous.append(val)
            else:
                params[key] = [previous, val]
        if i >= n or text[i] != "]":
            return None
        i += 1
        # A repeated SD-ID is not allowed; keep the first rather than refuse the message.
        elements.setdefault(name.group(0), params)
    return elements, i


def _parse_3164(
    rest: str,
    facility: int,
    severity: int,
    received_at: dt.datetime,
    default_tz: dt.tzinfo,
) -> SyslogMessage:
    time_source: Literal["message", "received"] = "received"
    timestamp: dt.datetime | None = None
    # Cisco IOS: "<189>123: *Mar  1 18:46:11.579 UTC: %LINK-3-UPDOWN: ..." — a sequence
    # number, then `*` (clock not synchronised) or `.` (synchronisation lost) before the time.
    seq = _CISCO_SEQ.match(rest)
    if seq and (_BSD_TIME.match(rest, seq.end() + _marker_len(rest, seq.end()))):
        rest = rest[seq.end() :]
    marker = rest[:1] if rest[:1] in ("*", ".") and _BSD_TIME.match(rest, 1) else ""
    rest = rest[len(marker) :]
    bsd = _BSD_TIME.match(rest)
    iso = None if bsd else _RFC3339.match(rest)
    if bsd:
        timestamp = _bsd_time(bsd, received_at, default_tz)
        rest = rest[bsd.end() :]
    elif iso and rest[iso.end() : iso.end() + 1] in (" ", ":", ""):
        timestamp = parse_rfc3339(iso.group(0), default_tz)
        rest = rest[iso.end() :].removeprefix(":").removeprefix(" ")
    if bsd or iso:
        time_source = "message"
    if timestamp is None or marker == "*":
        timestamp, time_source = _utc(received_at), "received"

    hostname: str | None = None
    # Without a time there is no header to speak of: "just some text" names no host "just".
    if time_source == "message" and not _TAG.match(rest):
        token, _, after = rest.partition(" ")
        if _HOSTNAME.fullmatch(token) and after:
            hostname, rest = token, after
    appname = procid = None
    tag = _TAG.match(rest)
    if tag and not tag.group(1).startswith("%"):
        appname, procid = tag.group(1), tag.group(2) or None
        rest = rest[tag.end() :]
    return SyslogMessage(
        format="rfc3164",
        facility=facility,
        severity=severity,
        timestamp=timestamp,
        hostname=hostname,
        appname=appname,
        procid=procid,
        msgid=None,
        message=rest,
        time_source=time_source,
    )


def _marker_len(text: str, at: int) -> int:
    return 1 if text[at : at + 1] in ("*", ".") else 0


def _bsd_time(
    match: re.Match[str], received_at: dt.datetime, default_tz: dt.tzinfo
) -> dt.datetime | None:
    mon, day, year, hh, mm, ss, frac, zone = match.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    tz = UTC if zone else default_tz
    micro = int((frac or "0").ljust(6, "0")[:6])
    if year:
        return _make_time(int(year), month, day, hh, mm, ss, micro, tz)
    # The latest year that does not put the time more than a little ahead of its receipt.
    this_year = received_at.astimezone(tz).year
    years = (this_year + 1, this_year, this_year - 1) if month == 1 else (this_year, this_year - 1)
    for y in years:
        candidate = _make_time(y, month, day, hh, mm, ss, micro, tz)
        if candidate is not None and candidate - received_at <= _FUTURE_TOLERANCE:
            return candidate
    return None


def _make_time(
    year: int, month: int, day: str, hh: str, mm: str, ss: str, micro: int, tz: dt.tzinfo
) -> dt.datetime | None:
    try:
        value = dt.datetime(year, month, int(day), int(hh), int(mm), int(ss), micro, tz)
    except ValueError:  # 29 February in a common year, 31 April, hour 25
        return None
    return value if tz is UTC else value.astimezone(UTC)


def parse_rfc3339(text: str, default_tz: dt.tzinfo = UTC) -> dt.datetime | None:
    """An RFC 3339 time (also with a space for `T`, a comma for the dot, up to nine fraction
    digits, or no offset: then `default_tz`) as aware UTC; None when it is not one."""
    match = _RFC3339.fullmatch(text)
    if not match:
        return None
    year, month, day, hh, mm, ss, frac, offset = match.groups()
    tz: dt.tzinfo = default_tz
    try:
        if offset and offset not in ("Z", "z"):
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = dt.timezone(sign * delta)
        elif offset:
            tz = UTC
        value = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hh),
            int(mm),
            min(int(ss), 59),  # a leap second (…:60) becomes :59
            int((frac or "0").ljust(6, "0")[:6]),
            tz,
        )
    except ValueError:
        return None
    return _utc(value)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC)


def _nil(value: str) -> str | None:
    return None if value == "-" else value

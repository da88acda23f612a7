"""What an analyst asks the event search, read from a page's form or the API's query string
(decision 0045). Pure: plain values in, an :class:`EventQuery` or a refusal with the reason
per parameter out (``InvalidInput``, 422), before any file is opened.

- **Time range**: a preset (``15m``, ``1h``, ``24h``, ``7d``) ending now, or an absolute
  ``from``/``to`` (either may be left out: ``to`` is then now, ``from`` an hour before
  ``to``). A time without an offset is read in the analyst's zone (``tz``, an IANA name;
  the page defaults it to the browser's zone, else the tenant's). ``from`` must come
  before ``to``, and the range is at most :data:`MAX_RANGE_DAYS` days: a search that finds
  little reads every event of its range.
- **Host**: the event's host, case-insensitive, ``*`` as a wildcard.
- **Fields**: ``name=value`` (several, all must hold; ``name = value`` with spaces reads
  the same). A name is a dotted path as the event spells it (``Event.EventData.Image``,
  ``process.name``) or a bare Windows name (``TargetUserName``); the value compares
  case-insensitively, ``*`` a wildcard.
- **Text**: found anywhere in the event (case-insensitive).
- **Device**: the id of the device that sent the event (recorded at ingest, decision 0045).

The histogram's bucket is chosen from the range (:func:`histogram_bucket`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tandem.core.errors import InvalidInput
from tandem.logs.archive.search import decode_cursor, json_paths

PRESETS: dict[str, dt.timedelta] = {
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
}
PRESET_LABELS = (
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("custom", "From … to …"),
)
DEFAULT_PRESET = "1h"
MAX_RANGE_DAYS = 31
MAX_FIELDS = 10
MAX_VALUE = 1000
MAX_HOST = 255
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class EventQuery:
    """A search the archive can run: a UTC range, filters, the page wanted."""

    start: dt.datetime
    end: dt.datetime
    zone: ZoneInfo
    preset: str = DEFAULT_PRESET
    host: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT
    device: int | None = None

    @property
    def field_lines(self) -> list[str]:
        """The field filters as the form shows them (``name = value``)."""
        return [f"{name} = {value}" for name, value in self.fields.items()]


def parse_zone(name: str | None, default: str) -> ZoneInfo:
    """The IANA zone ``name`` (else ``default``, else UTC); an unknown name is refused."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                if candidate is name:
                    raise InvalidInput({"tz": [f"Unknown time zone {name!r}."]}) from exc
    return ZoneInfo("UTC")


def parse_event_query(
    *,
    now: dt.datetime,
    default_zone: str,
    range_: str | None = None,
    start: str | None = None,
    end: str | None = None,
    tz: str | None = None,
    host: str | None = None,
    fields: Sequence[str] = (),
    text: str | None = None,
    cursor: str | None = None,
    limit: int | str | None = None,
    device: int | str | None = None,
) -> EventQuery:
    """The search these parameters ask for, or ``InvalidInput`` naming each bad one."""
    errors: dict[str, list[str]] = {}
    zone = parse_zone(_blank(tz), default_zone)
    preset = _blank(range_) or ("custom" if _blank(start) or _blank(end) else DEFAULT_PRESET)
    begin, finish = _range(preset, _blank(start), _blank(end), now, zone, errors)
    clean_host = _blank(host)
    if clean_host is not None and len(clean_host) > MAX_HOST:
        errors["host"] = [f"At most {MAX_HOST} characters."]
    filters = _fields(fields, errors)
    clean_text = _blank(text)
    if clean_text is not None and len(clean_text) > MAX_VALUE:
        errors["text"] = [f"At most {MAX_VALUE} characters."]
    clean_cursor = _blank(cursor)
    if clean_cursor is not None:
        try:
            decode_cursor(clean_cursor)
        except ValueError:
            errors["cursor"] = ["This page link is not one the search handed out."]
    size = _limit(limit, errors)
    device_id = _device(device, errors)
    if errors:
        raise InvalidInput(errors)
    assert begin is not None and finish is not None  # no error means both were read
    return EventQuery(
        start=begin,
        end=finish,
        zone=zone,
        preset=preset,
        host=clean_host,
        fields=filters,
        text=clean_text,
        cursor=clean_cursor,
        limit=size,
        device=device_id,
    )


def query_from_params(
    params: Mapping[str, Any], *, now: dt.datetime, default_zone: str
) -> EventQuery:
    """:func:`parse_event_query` over a ``QueryDict`` (a page's GET): ``range``, ``from``,
    ``to``, ``tz``, ``host``, ``field`` (repeated), ``text``, ``cursor``, ``limit``."""
    getlist = getattr(params, "getlist", None)
    fields = getlist("field") if getlist else list(params.get("field") or [])
    return parse_event_query(
        now=now,
        default_zone=default_zone,
        range_=params.get("range"),
        start=params.get("from"),
        end=params.get("to"),
        tz=params.get("tz"),
        host=params.get("host"),
        fields=fields,
        text=params.get("text"),
        cursor=params.get("cursor"),
        limit=params.get("limit"),
        device=params.get("device"),
    )


def _blank(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _range(
    preset: str,
    start: str | None,
    end: str | None,
    now: dt.datetime,
    zone: ZoneInfo,
    errors: dict[str, list[str]],
) -> tuple[dt.datetime | None, dt.datetime | None]:
    if preset in PRESETS:
        return now - PRESETS[preset], now
    if preset != "custom":
        choices = ", ".join([*PRESETS, "custom"])
        errors["range"] = [f"Choose one of {choices}."]
        return None, None
    finish = _moment(end, zone, "to", errors) if end else now
    begin = _moment(start, zone, "from", errors) if start else None
    if finish is None or (start and begin is None):
        return None, None
    if begin is None:
        try:
            begin = finish - PRESETS["1h"]
        except OverflowError:
            errors["to"] = ["Date and time out of range."]
            return None, None
    if begin >= finish:
        errors["from"] = ["'From' must be before 'to'."]
    elif finish - begin > dt.timedelta(days=MAX_RANGE_DAYS):
        errors["from"] = [f"The range is at most {MAX_RANGE_DAYS} days; narrow it."]
    return begin, finish


def _moment(
    text: str, zone: ZoneInfo, name: str, errors: dict[str, list[str]]
) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(
            text.replace("Z", "+00:00") if text[-1:] == "Z" else text
        )
    except ValueError:
        errors[name] = ["A date and time such as 2026-03-01T14:30 (in the chosen zone)."]
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00 east of Greenwich is before year 1 in UTC
        errors[name] = ["Date and time out of range."]
        return None


def _fields(lines: Sequence[str], errors: dict[str, list[str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    problems: list[str] = []
    for line in lines:
        if not (line or "").strip():
            continue  # an empty row of the form
        name, sign, value = str(line).partition("=")
        name, value = name.strip(), value.strip()
        if not sign or not name:
            problems.append(f"{line.strip()!r}: write a filter as field = value.")
            continue
        try:
            json_paths(name)
        except ValueError:
            problems.append(
                f"{name!r} is not a field name (a dotted path without spaces or quotes)."
            )
            continue
        if not value:
            problems.append(f"{name}: give a value (* matches anything).")
        elif len(value) > MAX_VALUE:
            problems.append(f"{name}: the value is longer than {MAX_VALUE} characters.")
        elif name in found and found[name] != value:
            problems.append(f"{name} is filtered twice with different values.")
        else:
            found[name] = value
    if len(found) > MAX_FIELDS:
        problems.append(f"At most {MAX_FIELDS} field filters.")
    if problems:
        errors["field"] = problems
    return found


def _limit(value: int | str | None, errors: dict[str, list[str]]) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        errors["limit"] = [f"A whole number from 1 to {MAX_LIMIT}."]
        return DEFAULT_LIMIT
    return number


def _device(value: int | str | None, errors: dict[str, list[str]]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 2**63 - 1:
        errors["device"] = ["A device id (a whole number)."]
        return None
    return number


#: Histogram bucket sizes, smallest first; the first that cuts the range into at most
#: :data:`MAX_BARS` bars is used.
BUCKETS = tuple(
    dt.timedelta(minutes=minutes)
    for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)
MAX_BARS = 60


def histogram_bucket(span: dt.timedelta) -> dt.timedelta:
    """The bucket of the histogram of a range ``span`` long: the smallest of
    :data:`BUCKETS` that makes at most :data:`MAX_BARS` bars (15 min: 1-minute bars, 1 h:
    1 minute, 24 h: 30 minutes, 7 days: 3 hours, 31 days: 1 day)."""
    for bucket in BUCKETS:
        if span <= bucket * MAX_BARS:
            return bucket
    return BUCKETS[-1]


def summary(event: Mapping[str, Any]) -> str:
    """One line saying what an event is, for the result list: its message, else its
    Windows event id and channel, else its log source."""
    message = event.get("message")
    if isinstance(message, str) and message:
        return message[:300]
    system = (
        (event.get("Event") or {}).get("System")
        if isinstance(event.get("Event"), Mapping)
        else None
    )
    if isinstance(system, Mapping) and system.get("EventID") is not None:
        channel = system.get("Channel") or ""
        return f"Event {system.get('EventID')}{' · ' + str(channel) if channel else ''}"
    source = event.get("_logsource")
    if isinstance(source, Mapping):
        parts = [str(source[k]) for k in ("product", "category", "service") if source.get(k)]
        if parts:
            return " / ".join(parts)
    return "Event"

"""What every normaliser shares: the error, the time format, the reserved keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tandem.logs.normalise.logsource import LogSource
from tandem.logs.syslog.parse import parse_rfc3339


class NormaliseError(ValueError):
    """The input is not an event of a shape we know; the message says why. Callers count it
    as malformed for the source it came from."""


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a `Z` and always six fraction digits, so that the strings sort
    in time order."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> dt.datetime | None:
    """A time as the shapes carry it: RFC 3339 / ISO text (zone-less means UTC), or epoch
    seconds as a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        return parse_rfc3339(value.strip())
    return None


def stamp(
    event: dict[str, Any], *, source: LogSource, host: str | None, time: dt.datetime | str
) -> dict[str, Any]:
    """Add the reserved keys every normalised event carries (plan contract 1); `time` is a
    datetime or its `iso_utc` text."""
    event["_logsource"] = dict(source)
    event["_host"] = host or ""
    event["_time"] = time if isinstance(time, str) else iso_utc(time)
    return event

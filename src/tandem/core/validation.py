"""Small validators shared by services and interfaces: names, slugs, time zones, country
codes, and the range of ids and counts the database can hold."""

from __future__ import annotations

import re
import zoneinfo

from tandem.core.errors import InvalidInput

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")

#: The largest 64-bit signed integer: the top of every primary key and integer column
#: (PostgreSQL's bigint, SQLite's INTEGER) and of LIMIT/OFFSET. A larger number from a URL,
#: a query string or a body cannot name anything; passed on to the database it overflows
#: (a server error on both databases), so every interface refuses it first: ids in paths
#: are "not found" (the ``id`` path converter, ``core.api.Id``), other values a 422/400.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """``value`` (a query-string or form value) as an id: digits only, 1 to :data:`MAX_ID`;
    None for anything else, which no row can have."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def clean_name(value: str, *, field: str = "name", max_length: int = 120) -> str:
    """Trimmed, non-empty, printable and not longer than ``max_length``."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput({field: ["This field is required."]})
    if len(cleaned) > max_length:
        raise InvalidInput({field: [f"At most {max_length} characters."]})
    if any(ord(ch) < 32 for ch in cleaned):
        raise InvalidInput({field: ["Control characters are not allowed."]})
    return cleaned


def clean_text(value: str, *, field: str, max_length: int = 5000) -> str:
    cleaned = (value or "").strip()
    if len(cleaned) > max_length:
        raise InvalidInput({field: [f"At most {max_length} characters."]})
    return cleaned


def clean_slug(value: str, *, field: str = "slug") -> str:
    cleaned = (value or "").strip().lower()
    if not SLUG_RE.match(cleaned):
        raise InvalidInput({field: ["Use 1 to 60 lower-case letters, digits and inner hyphens."]})
    return cleaned


def clean_time_zone(value: str, *, field: str = "time_zone", allow_blank: bool = False) -> str:
    cleaned = (value or "").strip()
    if not cleaned and allow_blank:
        return ""
    if cleaned not in zoneinfo.available_timezones():
        raise InvalidInput({field: [f"{cleaned!r} is not an IANA time zone (e.g. Europe/Berlin)."]})
    return cleaned


def clean_country(value: str, *, field: str = "country") -> str:
    cleaned = (value or "").strip().upper()
    if cleaned and not re.fullmatch(r"[A-Z]{2}", cleaned):
        raise InvalidInput({field: ["Use a two-letter ISO 3166 country code."]})
    return cleaned

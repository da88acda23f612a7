"""Small validators shared by services: names, slugs, time zones, country codes."""

from __future__ import annotations

import re
import zoneinfo

from tandem.core.errors import InvalidInput

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


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

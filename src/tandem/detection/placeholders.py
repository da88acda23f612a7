"""What a tenant's placeholder list may hold (decision 0051), checked before anything is
stored: plain functions over plain data, raising :class:`InvalidInput` with the field and
a sentence a person can act on.

A name is what a rule writes between the percent signs of ``%name%``: letters, digits,
``_``, ``-`` and ``.``, starting with a letter, digit or ``_`` (pySigma accepts any text
without ``%`` or ``\\``; these are the names the community's rules use, and they stay
readable in a URL and a log line). Values are Sigma strings: ``*`` and ``?`` are
wildcards, ``\\`` escapes them. Each value is trimmed; an empty value is refused rather
than dropped (an empty value would match everything a ``contains`` covers), and a value
given twice is kept once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tandem.core.errors import InvalidInput

#: How a placeholder list's name is written (without the percent signs).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")
MAX_NAME = 100
#: Values of one list; longest value (characters).
MAX_VALUES = 1000
MAX_VALUE_LENGTH = 500
#: Lists one tenant may hold.
MAX_LISTS = 200
MAX_DESCRIPTION = 2000


def clean_name(name: str) -> str:
    """The list's name as a rule writes it, without the percent signs (refused when it is
    not one a rule can name)."""
    text = (name or "").strip()
    if text.startswith("%") and text.endswith("%") and len(text) > 2:
        text = text[1:-1]
    if not NAME_PATTERN.fullmatch(text):
        raise InvalidInput(
            {
                "name": [
                    "Name the placeholder as the rules write it between the percent signs "
                    "(e.g. known_cdcs for %known_cdcs%): up to 100 letters, digits, "
                    "'_', '-' or '.', starting with a letter, digit or '_'."
                ]
            }
        )
    return text


def clean_values(values: Iterable[str]) -> list[str]:
    """The values, trimmed and each kept once in the order given; refused when one is
    empty or too long, or when there are none or too many."""
    problems: list[str] = []
    found: list[str] = []
    seen: set[str] = set()
    for number, value in enumerate(values, start=1):
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            problems.append(
                f"Value {number} is empty: remove it (an empty value matches too much)."
            )
        elif len(text) > MAX_VALUE_LENGTH:
            problems.append(f"Value {number} is longer than {MAX_VALUE_LENGTH} characters.")
        elif "\x00" in text:
            problems.append(f"Value {number} holds a NUL character.")
        elif text not in seen:
            seen.add(text)
            found.append(text)
    if not problems and not found:
        problems.append("Give at least one value.")
    if len(found) > MAX_VALUES:
        problems.append(f"A list holds at most {MAX_VALUES} values ({len(found)} given).")
    if problems:
        raise InvalidInput({"values": problems[:20]})
    return found


def values_from_text(text: str) -> list[str]:
    """The values of a form's text area: one per line, blank lines left out (a form cannot
    mean an empty value on purpose)."""
    return [line for line in (text or "").splitlines() if line.strip()]

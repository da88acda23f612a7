"""One event against one rule: the event's field values (:class:`EventView`) and the tests of
one value that the generated rule functions (:mod:`.codegen`) call when a test is not written
inline.

Semantics (decision 0034): string comparisons ignore case unless ``|cased``; a field holding
a list matches when one element does; a number matches an equal number or its decimal text; a
string matches a number's decimal text; ``null`` matches an absent or null field, ``''`` an
empty string only; ``exists`` is true for a present, non-null field; a keyword matches when
some string value of the event contains it (wildcards allowed); regexes are searched
(unanchored) and case-sensitive unless ``|i``.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

import ahocorasick

from tandem.detection.engine.fields import MISSING, as_text, leaves, resolve, texts_of
from tandem.detection.engine.rules import Node

_UNSET: Any = object()


class EventView:
    """One event while it is matched: field values and their lowercased texts, each looked
    up once however many rules ask."""

    __slots__ = (
        "event",
        "_data",
        "_values",
        "_lower",
        "_texts",
        "_lower1",
        "_text1",
        "_leaves",
        "_leaves_lower",
    )

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._data: Any = _UNSET
        self._values: dict[str, Any] = {}
        self._lower: dict[str, tuple[str, ...]] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._lower1: dict[str, str | tuple[str, ...]] = {}
        self._text1: dict[str, str | tuple[str, ...]] = {}
        self._leaves: list[str] | None = None
        self._leaves_lower: list[str] | None = None

    # A field is looked up the first time a rule asks: with dict.get rather than a caught
    # KeyError (raising costs a microsecond, and every event misses each of its fields
    # once), and without a generator for the common single string value.

    def value(self, name: str) -> Any:
        found = self._values.get(name, _UNSET)
        if found is _UNSET:
            # Most fields the rules read are strings in a Windows event's EventData, which
            # :func:`.fields.resolve` looks in first: read there directly (the same value),
            # anything else (absent, not a string) resolved in full.
            data = self._data
            if data is _UNSET:
                data = self._data = _event_data(self.event)
            if data is not None:
                found = data.get(name)
                if type(found) is not str:
                    found = resolve(self.event, name)
            else:
                found = resolve(self.event, name)
            self._values[name] = found
        return found

    def texts(self, name: str) -> tuple[str, ...]:
        """The field's values as text (one per list element), as they are."""
        found = self._texts.get(name)
        if found is None:
            value = self.value(name)
            if type(value) is str:
                found = (value,)
            elif isinstance(value, list):
                found = tuple(t for t in map(as_text, value) if t is not None)
            else:
                text = as_text(value)
                found = () if text is None else (text,)
            self._texts[name] = found
        return found

    def lower(self, name: str) -> tuple[str, ...]:
        found = self._lower.get(name)
        if found is None:
            texts = self.texts(name)
            single = len(texts) == 1
            found = (texts[0].lower(),) if single else tuple(t.lower() for t in texts)
            self._lower[name] = found
        return found

    # What the generated rules read: the one text of a field that has one (most fields,
    # tested inline without a loop), else the tuple of its texts (none, or a list's).

    def lower1(self, name: str) -> str | tuple[str, ...]:
        found = self._lower1.get(name)
        if found is None:
            value = self.value(name)
            if type(value) is str:
                found = value.lower()
            elif value is MISSING or value is None:
                found = ()  # what lower() gives, without its calls: most fields are absent
            else:
                texts = self.lower(name)
                found = texts[0] if len(texts) == 1 else texts
            self._lower1[name] = found
        return found

    def text1(self, name: str) -> str | tuple[str, ...]:
        found = self._text1.get(name)
        if found is None:
            value = self.value(name)
            if type(value) is str:
                found = value
            elif value is MISSING or value is None:
                found = ()
            else:
                texts = self.texts(name)
                found = texts[0] if len(texts) == 1 else texts
            self._text1[name] = found
        return found

    def leaf_texts(self) -> list[str]:
        if self._leaves is None:
            self._leaves = texts_of(self.event)
        return self._leaves

    def leaf_lower(self) -> list[str]:
        if self._leaves_lower is None:
            self._leaves_lower = [t.lower() for t in self.leaf_texts()]
        return self._leaves_lower


def _event_data(event: dict[str, Any]) -> dict[str, Any] | None:
    """A Windows event's ``Event.EventData`` map, if it has one."""
    windows = event.get("Event")
    if type(windows) is dict:
        data = windows.get("EventData")
        if type(data) is dict:
            return data
    return None


Predicate = Callable[[EventView], bool]


def _named(function: Any, description: str) -> Any:
    """``function``, shown as ``description`` in a rule's dumped source (its repr)."""
    function.__qualname__ = description
    return function


TextTest = Callable[[str], bool]
ValueTest = Callable[[Any], bool]


# --- Tests on one value --------------------------------------------------------------------


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if not value.strip().isdigit() else int(value)
        except ValueError:
            return None
    return None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "neq": operator.ne,
}


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address parsed once for all the CIDR tests of the rules (lists of ranges)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def numbers_test(numbers: Sequence[float]) -> ValueTest:
    """Whether a scalar equals one of ``numbers``: an equal number (never a boolean), or
    the decimal text of one."""
    wanted = frozenset(numbers)
    texts = frozenset(str(n) for n in numbers)

    def one(value: Any) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return value in wanted
        if kind is str:
            return value in texts
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return any(value == n for n in wanted)
        return isinstance(value, str) and value in texts

    return _named(one, f"number_in({sorted(wanted)!r})")


def cidr_test(networks: Sequence[str]) -> ValueTest:
    """Whether a scalar is an address in one of ``networks``: parsed once and compared as
    an integer with each range of its version (``ipaddress``'s ``in`` compares the same way,
    one Python call per range)."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for text in networks:
        network = ipaddress.ip_network(text)
        ranges[network.version].append(
            (int(network.network_address), int(network.broadcast_address))
        )

    def one(value: Any) -> bool:
        address = _address(value) if isinstance(value, str) else None
        if address is None:
            return False
        number = int(address)
        for low, high in ranges[address.version]:  # noqa: SIM110 - faster than any()
            if low <= number <= high:
                return True
        return False

    return _named(one, f"address_in({list(networks)!r})")


def value_test(test: Node) -> ValueTest:
    """A test of one scalar value (not text): numbers, booleans, comparisons, CIDR."""
    kind = test[0]
    if kind == "number":
        return numbers_test([test[1]])
    if kind == "bool":
        wanted = test[1]
        return lambda v: (v is wanted) or (isinstance(v, str) and v.lower() == str(wanted).lower())
    if kind == "compare":
        compare, bound = _COMPARE[test[1]], test[2]

        def compared(value: Any) -> bool:
            number = _as_number(value)
            return number is not None and compare(number, bound)

        return compared
    if kind == "cidr":
        return cidr_test([test[1]])
    raise ValueError(kind)


def some_value(one: ValueTest) -> ValueTest:
    """``one`` over a field's value: a list matches when an element does."""

    def valued(value: Any) -> bool:
        if type(value) is list:
            for v in value:  # noqa: SIM110 - a loop is faster than any()
                if one(v):
                    return True
            return False
        return one(value)

    return _named(valued, f"some_value({getattr(one, '__qualname__', one)})")


#: From this many ``contains`` alternatives of one field on, they are searched with one
#: Aho-Corasick automaton instead of one ``in`` each.
AUTOMATON_FROM = 6


def automaton_test(needles: Sequence[str]) -> TextTest:
    """Whether a text contains one of ``needles`` (one Aho-Corasick pass)."""
    if "" in needles:
        return lambda s: True
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, needle)
    automaton.make_automaton()

    def found(s: str) -> bool:
        for _ in automaton.iter(s):
            return True
        return False

    return _named(found, f"contains_any({len(needles)} texts)")


def text_pattern(test: Node) -> re.Pattern[str]:
    """The compiled pattern of a ``glob`` (matched whole) or ``regex`` (searched) test."""
    if test[0] == "glob":
        return re.compile(test[1], re.DOTALL)
    return re.compile(test[1], test[2])


#: String test kinds (and ``fieldref`` modes): (the value, the text) → whether it holds.
_REFERENCED: dict[str, Callable[[str, str], bool]] = {
    "eq": operator.eq,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": operator.contains,
}


def fieldref_test(name: str, other: str, mode: str) -> Predicate:
    """``name|fieldref``: one of the field's values compared with one of the other's,
    ignoring case."""
    holds = _REFERENCED[mode]

    def referenced(view: EventView) -> bool:
        values = view.lower(name)
        for ref in view.lower(other):
            for s in values:
                if holds(s, ref):
                    return True
        return False

    return _named(referenced, f"fieldref({name!r}, {other!r}, {mode})")


def keyword_test(test: Node) -> Predicate:
    """A keyword: some value anywhere in the event passes the test (a string keyword is
    searched in the values, implicitly ``*keyword*``)."""
    kind = test[0]
    if kind == "number":
        one = value_test(test)
        return _named(lambda view: any(one(v) for v in leaves(view.event)), f"keyword({test!r})")
    if kind in ("eq", "startswith", "endswith", "contains"):
        needle = test[1]
        text_test: TextTest = lambda s: needle in s  # noqa: E731
        cased = test[2]
    elif kind == "glob":
        text_test = re.compile(f".*{test[1]}.*", re.DOTALL).fullmatch  # type: ignore[assignment]
        cased = test[2]
    elif kind == "regex":
        text_test = text_pattern(test).search  # type: ignore[assignment]
        cased = True
    else:
        raise ValueError(kind)
    if cased:
        keyword = lambda view: any(text_test(s) for s in view.leaf_texts())  # noqa: E731
    else:
        keyword = lambda view: any(text_test(s) for s in view.leaf_lower())  # noqa: E731
    return _named(keyword, f"keyword({test!r})")

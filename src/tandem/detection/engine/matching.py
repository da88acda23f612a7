"""The compiled rules as predicates, indexed for speed.

An event meets only its candidate rules: those whose log source applies to the event's
(:func:`.fields.logsource_applies`) and, of those, the rules whose prefilter literal occurs in
the event's values (one Hyperscan pass, :mod:`.prefilter`) plus the rules
that have no prefilter. The candidates of a log source (and their automaton) are built the
first time an event of that log source is seen.

Semantics (decision 0034): string comparisons ignore case unless ``|cased``; a field holding
a list matches when one element does; a number matches an equal number or its decimal text; a
string matches a number's decimal text; ``null`` matches an absent or null field, ``''`` an
empty string only; ``exists`` is true for a present, non-null field; a keyword matches when
some string value of the event contains it (wildcards allowed); regexes are searched
(unanchored) and case-sensitive unless ``|i``.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

from tandem.detection.engine.correlation import Correlator
from tandem.detection.engine.fields import (
    MISSING,
    UNKNOWN_ID,
    as_text,
    event_id,
    infer_logsource,
    leaves,
    logsource_applies,
    resolve,
    texts_of,
)
from tandem.detection.engine.prefilter import (
    PREFILTER_FOLD,
    Literals,
    searchable,
)
from tandem.detection.engine.rules import (
    CompiledCorrelation,
    CompiledRule,
    LogSource,
    Node,
    RuleSet,
)


@dataclass(frozen=True, slots=True)
class Match:
    """One rule that matched one event (or a correlation that fired)."""

    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    #: ``event`` for a single-event rule, ``correlation`` for a correlation rule.
    kind: str = "event"
    #: A correlation's group-by values.
    group: tuple[tuple[str, Any], ...] = field(default=())


_UNSET: Any = object()


class EventView:
    """One event while it is matched: field values and their lowercased texts, each looked
    up once however many rules ask."""

    __slots__ = ("event", "_values", "_lower", "_texts", "_leaves", "_leaves_lower")

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._values: dict[str, Any] = {}
        self._lower: dict[str, tuple[str, ...]] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._leaves: list[str] | None = None
        self._leaves_lower: list[str] | None = None

    # A field is looked up the first time a rule asks: with dict.get rather than a caught
    # KeyError (raising costs a microsecond, and every event misses each of its fields
    # once), and without a generator for the common single string value.

    def value(self, name: str) -> Any:
        found = self._values.get(name, _UNSET)
        if found is _UNSET:
            found = self._values[name] = resolve(self.event, name)
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

    def leaf_texts(self) -> list[str]:
        if self._leaves is None:
            self._leaves = texts_of(self.event)
        return self._leaves

    def leaf_lower(self) -> list[str]:
        if self._leaves_lower is None:
            self._leaves_lower = [t.lower() for t in self.leaf_texts()]
        return self._leaves_lower


Predicate = Callable[[EventView], bool]
TextTest = Callable[[str], bool]


# --- Tests on one value --------------------------------------------------------------------


def _string_test(kind: str, text: str) -> TextTest:
    if kind == "eq":
        return text.__eq__
    if kind == "startswith":
        return lambda s: s.startswith(text)
    if kind == "endswith":
        return lambda s: s.endswith(text)
    if kind == "contains":
        return lambda s: text in s
    raise ValueError(kind)


def _number_equal(number: float) -> Callable[[Any], bool]:
    text = str(number)

    def test(value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return value == number
        return isinstance(value, str) and value == text

    return test


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


def _value_test(test: Node) -> Callable[[Any], bool]:
    """A test of one scalar value (not text): numbers, booleans, comparisons, CIDR."""
    kind = test[0]
    if kind == "number":
        return _number_equal(test[1])
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
        network = ipaddress.ip_network(test[1])

        def inside(value: Any) -> bool:
            address = _address(value) if isinstance(value, str) else None
            return address is not None and address in network

        return inside
    raise ValueError(kind)


def _text_test(test: Node) -> tuple[TextTest, bool]:
    """A test of text, and whether it wants the text as it is (cased) or lowercased."""
    kind = test[0]
    if kind in ("eq", "startswith", "endswith", "contains"):
        return _string_test(kind, test[1]), test[2]
    if kind == "glob":
        return re.compile(test[1], re.DOTALL).fullmatch, test[2]  # type: ignore[return-value]
    if kind == "regex":
        return re.compile(test[1], test[2]).search, True  # type: ignore[return-value]
    raise ValueError(kind)


# --- Predicates ----------------------------------------------------------------------------


#: String test kinds (and ``fieldref`` modes): (the value, the text) → whether it holds.
_REFERENCED: dict[str, Callable[[str, str], bool]] = {
    "eq": operator.eq,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": operator.contains,
}


def _field(name: str, test: Node) -> Predicate:
    kind = test[0]
    if kind == "null":
        return lambda view: view.value(name) in (MISSING, None)
    if kind == "exists":
        wanted = test[1]
        return lambda view: (view.value(name) not in (MISSING, None)) is wanted
    if kind == "fieldref":
        other, mode = test[1], test[2]

        holds = _REFERENCED[mode]

        def referenced(view: EventView) -> bool:
            values = view.lower(name)
            for ref in view.lower(other):
                for s in values:
                    if holds(s, ref):
                        return True
            return False

        return referenced
    if kind in ("number", "bool", "compare", "cidr"):
        one = _value_test(test)

        def valued(view: EventView) -> bool:
            value = view.value(name)
            if isinstance(value, list):
                return any(one(v) for v in value)
            return one(value)

        return valued
    if kind in _STRING_KINDS:
        return _string_field(name, kind, test[1], test[2])
    text_test, cased = _text_test(test)
    values = EventView.texts if cased else EventView.lower

    # Loops rather than any(generator): every candidate rule runs these, and a generator
    # costs more than the test it wraps.
    def texted(view: EventView) -> bool:
        for s in values(view, name):  # noqa: SIM110 - a loop is faster than any()
            if text_test(s):
                return True
        return False

    return texted


def _string_field(name: str, kind: str, text: str, cased: bool) -> Predicate:
    """One string test of one field, compared by a C function in the loop (a Python call
    less per value than a test function: these are the most common predicates)."""
    values = EventView.texts if cased else EventView.lower
    if kind == "eq":
        return lambda view: text in values(view, name)

    holds = _REFERENCED[kind]  # a C function: no Python frame per value

    def inside(view: EventView) -> bool:
        for s in values(view, name):  # noqa: SIM110 - a loop is faster than any()
            if holds(s, text):
                return True
        return False

    return inside


#: From this many ``contains`` alternatives of one field on, they are searched with one
#: Aho-Corasick automaton instead of one ``in`` each.
AUTOMATON_FROM = 6
_STRING_KINDS = ("eq", "startswith", "endswith", "contains")


def _any_substring(needles: Sequence[str]) -> Callable[[str], bool]:
    if len(needles) < AUTOMATON_FROM:

        def some_in(s: str) -> bool:
            for needle in needles:  # noqa: SIM110 - a loop is faster than any()
                if needle in s:
                    return True
            return False

        return some_in
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, needle)
    automaton.make_automaton()
    if "" in needles:
        return lambda s: True

    def found(s: str) -> bool:
        for _ in automaton.iter(s):
            return True
        return False

    return found


def _grouped(name: str, tests: Sequence[Node]) -> Predicate | None:
    """An OR of case-insensitive eq / startswith / endswith / contains tests of one field as
    one predicate (``Image|endswith: [...]`` lists of dozens are common)."""
    if not tests or any(t[0] not in _STRING_KINDS or t[2] for t in tests):
        return None
    equal = frozenset(t[1] for t in tests if t[0] == "eq")
    starts = tuple(t[1] for t in tests if t[0] == "startswith")
    ends = tuple(t[1] for t in tests if t[0] == "endswith")
    inside = [t[1] for t in tests if t[0] == "contains"]
    contains = _any_substring(inside) if inside else None

    def any_of(view: EventView) -> bool:
        for s in view.lower(name):
            if (
                s in equal
                or (starts and s.startswith(starts))
                or (ends and s.endswith(ends))
                or (contains is not None and contains(s))
            ):
                return True
        return False

    return any_of


def _grouped_numbers(name: str, tests: Sequence[Node]) -> Predicate:
    """An OR of numbers a field may equal (``DestinationPort: [25, 465, 587]``): one set
    lookup, with :func:`_number_equal`'s semantics (a number equal to one, or the decimal
    text of one; never a boolean)."""
    numbers = frozenset(t[1] for t in tests)
    texts = frozenset(str(t[1]) for t in tests)

    def one(value: Any) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return value in numbers
        if kind is str:
            return value in texts
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return any(value == n for n in numbers)
        return isinstance(value, str) and value in texts

    def valued(view: EventView) -> bool:
        value = view.value(name)
        if type(value) is list:
            for v in value:  # noqa: SIM110 - a loop is faster than any()
                if one(v):
                    return True
            return False
        return one(value)

    return valued


def _grouped_cidr(name: str, tests: Sequence[Node]) -> Predicate:
    """An OR of address ranges (``IpAddress|cidr: [10.0.0.0/8, 172.16.0.0/12, ...]``):
    the address parsed once and compared as an integer with each range of its version
    (``ipaddress``'s ``in`` compares the same way, one Python call per range)."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for test in tests:
        network = ipaddress.ip_network(test[1])
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

    def inside(view: EventView) -> bool:
        value = view.value(name)
        if isinstance(value, list):
            return any(one(v) for v in value)
        return one(value)

    return inside


#: Test kind → the family of same-field alternatives an OR groups into one predicate.
_FAMILY = {
    **{kind: "string" for kind in ("eq", "startswith", "endswith", "contains")},
    "number": "number",
    "cidr": "cidr",
}
_GROUPERS: dict[str, Callable[[str, Sequence[Node]], Predicate | None]] = {
    "string": lambda name, tests: _grouped(name, tests),
    "number": _grouped_numbers,
    "cidr": _grouped_cidr,
}


def _keyword(test: Node) -> Predicate:
    if test[0] == "number":
        one = _value_test(test)
        return lambda view: any(one(v) for v in leaves(view.event))
    kind = test[0]
    if kind in ("eq", "startswith", "endswith"):
        # A keyword is searched in the values: implicitly ``*keyword*``.
        test = ("contains", test[1], test[2])
    elif kind == "glob":
        test = ("glob", f".*{test[1]}.*", test[2], test[3])
    text_test, cased = _text_test(test)
    if cased:
        return lambda view: any(text_test(s) for s in view.leaf_texts())
    return lambda view: any(text_test(s) for s in view.leaf_lower())


def predicate(node: Node) -> Predicate:
    kind = node[0]
    if kind == "field":
        return _field(node[1], node[2])
    if kind == "keyword":
        return _keyword(node[1])
    if kind == "true":
        return lambda view: True
    if kind == "false":
        return lambda view: False
    if kind == "not":
        inner = predicate(node[1])
        return lambda view: not inner(view)
    if kind in ("and", "or"):
        children = list(node[1])
        parts: list[Predicate] = []
        if kind == "or":
            # Same-field alternatives of one family become one predicate.
            by_field: dict[tuple[str, str], list[Node]] = {}
            rest: list[Node] = []
            for child in children:
                family = _FAMILY.get(child[2][0]) if child[0] == "field" else None
                if family is not None:
                    by_field.setdefault((child[1], family), []).append(child[2])
                else:
                    rest.append(child)
            for (name, family), tests in by_field.items():
                grouped = _GROUPERS[family](name, tests) if len(tests) > 1 else None
                if grouped is not None:
                    parts.append(grouped)
                else:
                    parts.extend(_field(name, t) for t in tests)
            parts.extend(predicate(c) for c in rest)
        else:
            parts = [predicate(c) for c in children]
        if len(parts) == 1:
            return parts[0]
        if kind == "and":
            if len(parts) == 2:
                first, second = parts
                return lambda view: first(view) and second(view)

            def every(view: EventView) -> bool:
                for p in parts:  # noqa: SIM110 - a loop is faster than all()
                    if not p(view):
                        return False
                return True

            return every
        if len(parts) == 2:
            first, second = parts
            return lambda view: first(view) or second(view)

        def some(view: EventView) -> bool:
            for p in parts:  # noqa: SIM110 - a loop is faster than any()
                if p(view):
                    return True
            return False

        return some
    raise ValueError(f"unknown node {kind!r}")


# --- The engine ----------------------------------------------------------------------------


#: A bucket's index is rebuilt once this many of its events have been seen, on how often
#: each literal was found in them.
LEARN_EVENTS = 500

#: Once a bucket has learnt, its scan is narrowed to the literals that index a rule after
#: this many of its events: compiling that database costs about as much as this many
#: events save (decision 0034: ~0.1-0.2 s for the 8,600 index literals of process
#: creation, ~1 µs less per event after).
NARROW_EVENTS = 200_000

#: At most this many log-source objects (and EventIDs per object) in the engine's lookup by
#: identity; past it, buckets are found by value (an event's own ``_logsource`` may make a
#: new object each time).
BY_SOURCE_SIZE = 256

_ByLiteral = tuple[
    tuple[tuple[int, ...], tuple[tuple[int, tuple[frozenset[int], ...]], ...]] | None, ...
]


@dataclass(slots=True)
class _Bucket:
    """The candidates of one log source (and EventID)."""

    #: rules without a prefilter: always candidates
    always: tuple[int, ...]
    #: every literal of every clause of the other rules, numbered; None when there is none
    literals: Literals | None
    #: rule → its clauses, as sets of literal numbers
    clauses_of: dict[int, tuple[frozenset[int], ...]]
    #: while learning: how many of the bucket's events held each literal; then None
    seen: list[int] | None
    events: int = 0
    #: whether the scan looks for the index's literals only (:meth:`narrow`)
    narrowed: bool = False
    #: literal number → (the rules indexed by it that have no other clause, the rules
    #: indexed by it with their other clauses as sets of literal numbers); None for a
    #: literal that indexes no rule (most of those found in an event, once learnt)
    by_literal: _ByLiteral = ()

    def index(self) -> None:
        """Index each rule by one clause: a rule is visited when a literal of that clause
        is found, then its other clauses are checked, the least often found first. Any
        clause is a sound index (each is necessary); the fastest is the one least often
        found. Before events are seen, that is guessed: a literal many rules of this log
        source share (``.exe``, ``\\windows\\``) is one most events hold too; after
        :data:`LEARN_EVENTS` events, how often each literal was found decides."""
        size = len(self.literals.literals) if self.literals is not None else 0
        seen = self.seen if self.seen is not None else [0] * size
        shared = Counter(n for clauses in self.clauses_of.values() for c in clauses for n in c)

        def cost(clause: frozenset[int]) -> tuple[int, int, int]:
            return (sum(seen[n] for n in clause), sum(shared[n] for n in clause), len(clause))

        plain: list[list[int]] = [[] for _ in range(size)]
        checked: list[list[tuple[int, tuple[frozenset[int], ...]]]] = [[] for _ in range(size)]
        for rule, clauses in self.clauses_of.items():
            first, *others = sorted(clauses, key=cost) if len(clauses) > 1 else clauses
            for number in first:
                if others:
                    checked[number].append((rule, tuple(others)))
                else:
                    plain[number].append(rule)
        self.by_literal = tuple(
            (tuple(p), tuple(c)) if p or c else None for p, c in zip(plain, checked, strict=True)
        )

    def narrow(self) -> None:
        """Scan for the literals that index a rule only (:meth:`.Literals.narrow`)."""
        self.narrowed = True
        if self.literals is not None:
            self.literals.narrow([n for n, entry in enumerate(self.by_literal) if entry])

    def learn(self, found: list[int]) -> None:
        """Count the literals found in one more event; re-index after enough of them."""
        seen = self.seen
        if seen is None:
            return
        for number in found:
            seen[number] += 1
        self.events += 1
        if self.events >= LEARN_EVENTS:
            self.index()
            self.seen = None


class Engine:
    """Compiled rules, ready to match events. Build it with :func:`compile_rules`."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        correlations: Sequence[CompiledCorrelation] = (),
        *,
        prefilter: bool = True,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.rules = list(rules)
        self.prefilter = prefilter
        #: where the Hyperscan databases of the buckets are kept (None: compiled each time)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        #: events of a bucket, after learning, before its scan is narrowed
        self.narrow_after = NARROW_EVENTS
        #: Correlations keep state between events: one engine per stream of events.
        self.correlator = Correlator(correlations) if correlations else None
        self._silenced = self.correlator.silenced if self.correlator else frozenset()
        self._predicates = [predicate(rule.condition) for rule in self.rules]
        self._matches = [
            Match(rule.rule_id, rule.title, rule.level, rule.tags) for rule in self.rules
        ]
        self._buckets: dict[tuple[LogSource, Any], _Bucket] = {}
        #: id of a LogSource object → (that object, EventID → its bucket): the usual
        #: lookup, without hashing the frozen LogSource (a call into Python) per event.
        #: :func:`.fields.infer_logsource` returns one object per log source; the entry
        #: keeps its object alive, so the id is not reused while the entry is there.
        self._by_source: dict[int, tuple[LogSource, dict[Any, _Bucket]]] = {}

    def fork(self) -> Engine:
        """The same compiled rules (and candidate index) with correlation state of its own:
        one per stream of events that must not be counted together, such as one per
        tenant in the detection worker (decision 0041). Cheap: nothing is compiled again."""
        forked = copy.copy(self)
        if self.correlator is not None:
            forked.correlator = Correlator(self.correlator.correlations)
        return forked

    def _bucket(self, source: LogSource, ident: Any) -> _Bucket:
        """The candidates for events of this log source and ``EventID`` (None: the event
        has none; UNKNOWN_ID: it is not a number, so no rule is left out for it)."""
        entry = self._by_source.get(id(source))
        if entry is not None and entry[0] is source:
            bucket = entry[1].get(ident)
            if bucket is not None:
                return bucket
        bucket = self._buckets.get((source, ident))
        if bucket is None:
            bucket = self._build_bucket(source, ident)
        if entry is None and len(self._by_source) < BY_SOURCE_SIZE:
            entry = self._by_source[id(source)] = (source, {})
        if entry is not None and entry[0] is source and len(entry[1]) < BY_SOURCE_SIZE:
            entry[1][ident] = bucket
        return bucket

    def _build_bucket(self, source: LogSource, ident: Any) -> _Bucket:
        """The candidates of a log source and ``EventID`` seen for the first time."""
        always: list[int] = []
        numbers: dict[str, int] = {}
        clauses_of: dict[int, tuple[frozenset[int], ...]] = {}

        def clause_numbers(clause: frozenset[str]) -> frozenset[int] | None:
            """The clause's literals, numbered; None when one cannot be searched for."""
            found = set()
            # In order: the literals' numbers, hence the Hyperscan database and the name
            # it is kept under in the cache, are the same in every process.
            for literal in sorted(clause):
                folded = literal.translate(PREFILTER_FOLD)
                if not searchable(folded):
                    return None
                number = numbers.get(folded)
                if number is None:
                    number = numbers[folded] = len(numbers)
                found.add(number)
            return frozenset(found)

        for index, rule in enumerate(self.rules):
            if not logsource_applies(rule.logsource, source):
                continue
            if (
                self.prefilter
                and rule.event_ids is not None
                and ident is not UNKNOWN_ID
                and ident not in rule.event_ids
            ):
                continue
            numbered = [clause_numbers(c) for c in rule.clauses] if self.prefilter else []
            usable = [c for c in dict.fromkeys(numbered) if c is not None]
            if not usable:
                always.append(index)
                continue
            clauses_of[index] = tuple(usable)
        literals = Literals(list(numbers), self.cache_dir) if numbers else None
        bucket = _Bucket(tuple(always), literals, clauses_of, [0] * len(numbers))
        bucket.index()
        self._buckets[(source, ident)] = bucket
        return bucket

    def candidates(self, event: dict[str, Any], source: LogSource | None = None) -> list[int]:
        """The indexes of the rules worth evaluating on ``event``, in rule order: those of
        its log source without a prefilter, and those whose every clause has a literal in
        the event's text. One Hyperscan pass finds every literal of the log source's rules
        in the text; one clause of each rule indexes it, the others are checked as sets of
        literal numbers."""
        if source is None:
            source = infer_logsource(event)
        bucket = self._bucket(source, event_id(event))
        if bucket.literals is None:
            return list(bucket.always)
        # Until the scan is narrowed, every literal found is reported: a plain list.
        scanned = bucket.literals.scan(event) if bucket.narrowed else None
        found = scanned.numbers if scanned is not None else bucket.literals.find(event)
        if bucket.seen is not None:
            bucket.learn(found)
        elif not bucket.narrowed:
            bucket.events += 1
            if bucket.events >= self.narrow_after:
                bucket.narrow()
        by_literal = bucket.by_literal
        chosen: set[int] | None = None
        hits: frozenset[int] | None = None
        for number in found:
            entry = by_literal[number]
            if entry is None:  # most literals found index no rule: nothing to build
                continue
            plain, checked = entry
            if chosen is None:
                chosen = set(bucket.always)
            if plain:
                chosen.update(plain)
            if not checked:
                continue
            if hits is None:
                hits = frozenset(found)
            # The other clauses are checked only for the few rules the index names.
            for index, others in checked:
                if index in chosen:
                    continue
                for clause in others:
                    if clause.isdisjoint(hits) and (scanned is None or not scanned.has(clause)):
                        break
                else:
                    chosen.add(index)
        if chosen is None:
            return list(bucket.always)
        return sorted(chosen)

    def match(self, event: dict[str, Any], source: LogSource | None = None) -> list[Match]:
        """The rules ``event`` matches, in rule order. ``source``: the event's log source
        when the caller knows it (else ``_logsource`` or :func:`.fields.infer_logsource`)."""
        view = EventView(event)
        predicates = self._predicates
        found = [self._matches[i] for i in self.candidates(event, source) if predicates[i](view)]
        if self.correlator is None:
            return found
        fired = self.correlator.feed(event, [m.rule_id for m in found])
        if self._silenced:
            found = [m for m in found if m.rule_id not in self._silenced]
        found.extend(
            Match(c.rule_id, c.title, c.level, c.tags, kind="correlation", group=group)
            for c, group in fired
        )
        return found

    def match_many(self, events: Iterable[dict[str, Any]]) -> Iterator[tuple[int, Match]]:
        """(index of the event, match) for every match, events in order."""
        for index, event in enumerate(events):
            for found in self.match(event):
                yield index, found


def compile_rules(ruleset: RuleSet, *, prefilter: bool = True) -> Engine:
    """The engine for a rule set: its rules' predicates, and its correlations' state."""
    return Engine(
        ruleset.loaded, ruleset.correlations, prefilter=prefilter, cache_dir=ruleset.cache_dir
    )

"""The compiled rules as predicates, indexed for speed.

An event meets only its candidate rules: those whose log source applies to the event's
(:func:`.fields.logsource_applies`) and, of those, the rules whose prefilter literal occurs in
the event's lowercased text (one Aho-Corasick pass over all the event's values) plus the rules
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
from typing import Any

import ahocorasick
import hyperscan

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


def event_text(event: dict[str, Any]) -> str:
    """All the event's values, lowercased, one per line: what the prefilter searches."""
    return "\n".join(texts_of(event)).lower()


#: Applied to the prefilter's text (when it is not ASCII) and to every literal: the
#: characters ``re.IGNORECASE`` matches with an ASCII letter although their lowercase is
#: another (``ſ`` matches ``s``, ``ı`` and ``İ`` match ``i``; ``İ`` lowercases to ``i`` and
#: a combining dot), so a literal taken from such a regex is still found. Folding both
#: sides keeps every other literal found too (it maps characters one by one).
PREFILTER_FOLD = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0307": None})


def prefilter_text(event: dict[str, Any]) -> str:
    """:func:`event_text`, folded by :data:`PREFILTER_FOLD` when it is not ASCII."""
    text = "\n".join(texts_of(event)).lower()
    return text if text.isascii() else text.translate(PREFILTER_FOLD)


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


def _field(name: str, test: Node) -> Predicate:
    kind = test[0]
    if kind == "null":
        return lambda view: view.value(name) in (MISSING, None)
    if kind == "exists":
        wanted = test[1]
        return lambda view: (view.value(name) not in (MISSING, None)) is wanted
    if kind == "fieldref":
        other, mode = test[1], test[2]

        def referenced(view: EventView) -> bool:
            for ref in view.lower(other):
                t = _string_test(mode, ref)
                if any(t(s) for s in view.lower(name)):
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


#: From this many ``contains`` alternatives of one field on, they are searched with one
#: Aho-Corasick automaton instead of one ``in`` each.
AUTOMATON_FROM = 6
_STRING_KINDS = ("eq", "startswith", "endswith", "contains")


def _any_substring(needles: Sequence[str]) -> Callable[[str], bool]:
    if len(needles) < AUTOMATON_FROM:
        return lambda s: any(n in s for n in needles)
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
            # Same-field string alternatives become one predicate.
            by_field: dict[str, list[Node]] = {}
            rest: list[Node] = []
            for child in children:
                if child[0] == "field" and child[2][0] in _STRING_KINDS:
                    by_field.setdefault(child[1], []).append(child[2])
                else:
                    rest.append(child)
            for name, tests in by_field.items():
                grouped = _grouped(name, tests) if len(tests) > 1 else None
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


@dataclass(slots=True)
class _Bucket:
    """The candidates of one log source (and EventID)."""

    #: rules without a prefilter: always candidates
    always: tuple[int, ...]
    #: every literal of every clause of the other rules, numbered; None when there is none
    database: Any  # hyperscan.Database
    #: literal number → (the rules indexed by it that have no other clause, the rules
    #: indexed by it with their other clauses as sets of literal numbers)
    by_literal: tuple[
        tuple[tuple[int, ...], tuple[tuple[int, tuple[frozenset[int], ...]], ...]], ...
    ]


def _hit(literal: int, start: int, end: int, flags: int, found: list[int]) -> None:
    """Hyperscan's match callback: each literal is reported once (``SINGLEMATCH``)."""
    found.append(literal)


def _searchable(literal: str) -> str:
    """What Hyperscan is given for a literal: its longest piece without a NUL character
    (the binding reads each literal as a C string). Any piece of a literal is in every
    text the literal is in; an empty piece cannot be searched for."""
    if "\0" not in literal:
        return literal
    return max(literal.split("\0"), key=len)


def _literal_database(literals: Sequence[str]) -> Any:
    """One Hyperscan block-mode database of plain literals (numbered in order), each
    reported once per scan. Hyperscan scans the UTF-8 bytes in one pass in C, whatever the
    number of literals; a literal is in the text exactly when its bytes are in its bytes."""
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[literal.encode() for literal in literals],
        ids=list(range(len(literals))),
        elements=len(literals),
        flags=hyperscan.HS_FLAG_SINGLEMATCH,
        literal=True,
    )
    return database


class Engine:
    """Compiled rules, ready to match events. Build it with :func:`compile_rules`."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        correlations: Sequence[CompiledCorrelation] = (),
        *,
        prefilter: bool = True,
    ) -> None:
        self.rules = list(rules)
        self.prefilter = prefilter
        #: Correlations keep state between events: one engine per stream of events.
        self.correlator = Correlator(correlations) if correlations else None
        self._silenced = self.correlator.silenced if self.correlator else frozenset()
        self._predicates = [predicate(rule.condition) for rule in self.rules]
        self._matches = [
            Match(rule.rule_id, rule.title, rule.level, rule.tags) for rule in self.rules
        ]
        self._buckets: dict[tuple[LogSource, Any], _Bucket] = {}

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
        bucket = self._buckets.get((source, ident))
        if bucket is not None:
            return bucket
        always: list[int] = []
        numbers: dict[str, int] = {}
        clauses_of: dict[int, list[frozenset[int]]] = {}

        def clause_numbers(clause: frozenset[str]) -> frozenset[int] | None:
            """The clause's literals, numbered; None when one cannot be searched for."""
            found = set()
            for literal in clause:
                searched = _searchable(literal.translate(PREFILTER_FOLD))
                if not searched:
                    return None
                number = numbers.get(searched)
                if number is None:
                    number = numbers[searched] = len(numbers)
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
            clauses_of[index] = usable
        # A rule is visited when a literal of its index clause is found, then its other
        # clauses are checked. Index it by the clause least likely to be found: a literal
        # many rules of this log source share (``.exe``, ``\\windows\\``) is one most
        # events hold too, so the clause whose literals are the least shared is chosen.
        shared = Counter(n for clauses in clauses_of.values() for c in clauses for n in c)
        plain: list[list[int]] = [[] for _ in numbers]
        checked: list[list[tuple[int, tuple[frozenset[int], ...]]]] = [[] for _ in numbers]
        for index, clauses in clauses_of.items():
            first = min(clauses, key=lambda c: (sum(shared[n] for n in c), len(c)))
            others = tuple(c for c in clauses if c is not first)
            for number in first:
                if others:
                    checked[number].append((index, others))
                else:
                    plain[number].append(index)
        database = _literal_database(list(numbers)) if numbers else None
        by_literal = tuple((tuple(p), tuple(c)) for p, c in zip(plain, checked, strict=True))
        bucket = _Bucket(tuple(always), database, by_literal)
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
        if bucket.database is None:
            return list(bucket.always)
        found: list[int] = []
        bucket.database.scan(
            prefilter_text(event).encode(), match_event_handler=_hit, context=found
        )
        if not found:
            return list(bucket.always)
        hits = frozenset(found)
        chosen: set[int] = set(bucket.always)
        by_literal = bucket.by_literal
        for number in found:
            plain, checked = by_literal[number]
            if plain:
                chosen.update(plain)
            # The other clauses are checked only for the few rules the index names.
            for index, others in checked:
                if index in chosen:
                    continue
                for clause in others:
                    if clause.isdisjoint(hits):
                        break
                else:
                    chosen.add(index)
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
    return Engine(ruleset.loaded, ruleset.correlations, prefilter=prefilter)

"""The compiled rules as predicates, indexed for speed.

An event meets only its candidate rules: those whose log source applies to the event's
(:func:`.fields.logsource_applies`) and, of those, the rules whose prefilter literal occurs in
the event's values (one Hyperscan pass, :mod:`.prefilter`) plus the rules
that have no prefilter. The candidates of a log source (and their automaton) are built the
first time an event of that log source is seen.

Each candidate is evaluated by its rule's generated function (:mod:`.codegen`), on an
:class:`.evaluation.EventView` of the event; the semantics are :mod:`.evaluation`'s.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem.detection.engine.codegen import predicate
from tandem.detection.engine.correlation import Correlator
from tandem.detection.engine.evaluation import EventView
from tandem.detection.engine.fields import (
    UNKNOWN_ID,
    event_id,
    infer_logsource,
    logsource_applies,
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

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

_ByLiteral = tuple[tuple[tuple[int, ...], tuple[tuple[int, tuple[frozenset[int], ...]], ...]], ...]


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
    #: literal number → (the rules indexed by it that have no other clause, the rules
    #: indexed by it with their other clauses as sets of literal numbers)
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
            first, *others = sorted(clauses, key=cost)
            for number in first:
                if others:
                    checked[number].append((rule, tuple(others)))
                else:
                    plain[number].append(rule)
        self.by_literal = tuple((tuple(p), tuple(c)) for p, c in zip(plain, checked, strict=True))

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
        clauses_of: dict[int, tuple[frozenset[int], ...]] = {}

        def clause_numbers(clause: frozenset[str]) -> frozenset[int] | None:
            """The clause's literals, numbered; None when one cannot be searched for."""
            found = set()
            for literal in clause:
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
        literals = Literals(list(numbers)) if numbers else None
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
        found = bucket.literals.find(event)
        if not found:
            return list(bucket.always)
        if bucket.seen is not None:
            bucket.learn(found)
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

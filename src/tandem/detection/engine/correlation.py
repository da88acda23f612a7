"""Correlation rules: state over event time, fed with the single-event matches.

For each correlation and each group (the values of its ``group-by`` fields in the event):

- ``event_count``: the times of the referenced rules' matches within ``timespan`` of the
  newest; the condition is on their number;
- ``value_count``: the distinct values of the condition's ``field`` within the timespan;
- ``temporal``: every referenced rule matched within the timespan (any order);
- ``temporal_ordered``: they matched within the timespan in the order listed.

When the condition holds the correlation fires once and its group starts afresh (the next
alert needs a new set of events). An event's time is its ``_time`` (else ``@timestamp``,
else ``Event.System.TimeCreated.SystemTime``), ISO 8601; an event without one takes the time
of the one before. Events are expected roughly in time order (a stream): one older than the
window of its group no longer counts.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from tandem.detection.engine.fields import MISSING, as_text, resolve
from tandem.detection.engine.rules import CompiledCorrelation

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "neq": operator.ne,
}


def event_time(event: dict[str, Any]) -> float | None:
    """Seconds since the epoch of the event's own time, or None."""
    value = event.get("_time") or event.get("@timestamp")
    if value is None:
        found = resolve(event, "Event.System.TimeCreated.SystemTime")
        value = None if found is MISSING else found
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


class Correlator:
    """The running state of a set of correlation rules."""

    def __init__(self, correlations: Sequence[CompiledCorrelation]) -> None:
        self.correlations = list(correlations)
        #: rule id → the correlations that reference it
        self.by_rule: dict[str, list[int]] = {}
        for index, correlation in enumerate(self.correlations):
            for rule_id in dict.fromkeys(correlation.rules):
                self.by_rule.setdefault(rule_id, []).append(index)
        #: (correlation index, group) → state
        self._state: dict[tuple[int, tuple[Any, ...]], Any] = {}
        self._last_time = 0.0

    @property
    def silenced(self) -> frozenset[str]:
        """Rules that alert only through a correlation (Sigma ``generate: false``)."""
        return frozenset(
            rule_id for c in self.correlations if not c.generate for rule_id in c.rules
        )

    def feed(
        self, event: dict[str, Any], rule_ids: Sequence[str]
    ) -> list[tuple[CompiledCorrelation, tuple[tuple[str, Any], ...]]]:
        """The single-event matches of one event (rule ids); the correlations that fire, each
        with its group."""
        when = event_time(event)
        if when is None:
            when = self._last_time
        self._last_time = when
        fired: list[tuple[CompiledCorrelation, tuple[tuple[str, Any], ...]]] = []
        touched: set[int] = set()
        for rule_id in rule_ids:
            for index in self.by_rule.get(rule_id, ()):
                if self._update(index, rule_id, event, when) and index not in touched:
                    touched.add(index)
                    fired.append((self.correlations[index], self._group(index, event)))
        return fired

    def _group(self, index: int, event: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        fields = self.correlations[index].group_by
        return tuple((name, _value(event, name)) for name in fields)

    def _update(self, index: int, rule_id: str, event: dict[str, Any], when: float) -> bool:
        correlation = self.correlations[index]
        group = tuple(v for _, v in self._group(index, event))
        key = (index, group)
        horizon = when - correlation.timespan
        kind = correlation.kind
        if kind == "event_count":
            times: deque[float] = self._state.setdefault(key, deque())
            times.append(when)
            while times and times[0] < horizon:
                times.popleft()
            hit = _holds(correlation, len(times))
        elif kind == "value_count":
            values: dict[Any, float] = self._state.setdefault(key, {})
            value = _value(event, correlation.value_field or "")
            if value is not None:
                values[value] = when
            for old in [v for v, t in values.items() if t < horizon]:
                del values[old]
            hit = _holds(correlation, len(values))
        else:
            seen: dict[str, list[float]] = self._state.setdefault(key, {})
            seen.setdefault(rule_id, []).append(when)
            for name in list(seen):
                seen[name] = [t for t in seen[name] if t >= horizon]
            if kind == "temporal":
                hit = all(seen.get(r) for r in correlation.rules)
            else:
                hit = _in_order(correlation.rules, seen)
        if hit:
            del self._state[key]
        return hit


def _value(event: dict[str, Any], name: str) -> Any:
    value = resolve(event, name)
    if value is MISSING or value is None:
        return None
    text = as_text(value)
    return text if text is not None else repr(value)


def _holds(correlation: CompiledCorrelation, count: int) -> bool:
    return all(_OPS[op](count, bound) for op, bound in correlation.condition)


def _in_order(rules: Sequence[str], seen: dict[str, list[float]]) -> bool:
    """Times t1 <= t2 <= ... exist, one of each rule in the listed order."""
    after = float("-inf")
    for rule_id in rules:
        later = [t for t in seen.get(rule_id, ()) if t >= after]
        if not later:
            return False
        after = min(later)
    return True

"""Correlation rules over event time: event_count, value_count, temporal (ordered), group-by
and timespan, with rules written for them."""

from __future__ import annotations

from typing import Any

from tandem.detection.engine import Engine, compile_rules, load_rules_text
from tandem.detection.tests.support import rule_yaml, windows

FAILED = "5f1a4c07-0000-4000-8000-0000000000c1"
SUCCESS = "5f1a4c07-0000-4000-8000-0000000000c2"


def _engine(correlation: str) -> Engine:
    rules = load_rules_text(
        {
            "failed.yml": rule_yaml("sel: {EventID: 4625}\ncondition: sel", rule_id=FAILED).replace(
                "title: test rule", "title: failed logon\nname: failed_logon"
            ),
            "success.yml": rule_yaml("sel: {EventID: 4624}\ncondition: sel", rule_id=SUCCESS),
            "correlation.yml": correlation,
        }
    )
    assert not rules.refused, rules.refused
    assert len(rules.correlations) == 1
    return compile_rules(rules)


def _logon(event_id: int, second: int, user: str = "bob", ip: str = "10.0.0.1") -> dict[str, Any]:
    event = windows(event_id=event_id, TargetUserName=user, IpAddress=ip)
    event["_time"] = f"2030-01-01T10:{second // 60:02d}:{second % 60:02d}Z"
    return event


def _fired(engine: Engine, events: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    return [
        (index, match.group)
        for index, match in engine.match_many(events)
        if match.kind == "correlation"
    ]


BRUTE_FORCE = """
title: brute force
id: 5f1a4c07-0000-4000-8000-0000000000c3
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
level: high
"""


def test_event_count_fires_on_the_nth_event_within_the_timespan_per_group() -> None:
    engine = _engine(BRUTE_FORCE)
    events = [
        _logon(4625, 0),
        _logon(4625, 10, user="alice"),  # another group
        _logon(4625, 20),
        _logon(4624, 25),  # not a referenced rule
        _logon(4625, 30),  # third of bob's within a minute
        _logon(4625, 31),  # the group started afresh
    ]
    assert _fired(engine, events) == [(4, (("TargetUserName", "bob"),))]


def test_event_count_forgets_events_older_than_the_timespan() -> None:
    engine = _engine(BRUTE_FORCE)
    events = [_logon(4625, 0), _logon(4625, 50), _logon(4625, 70), _logon(4625, 100)]
    # at 70 s the first is out of the window; at 100 s: 50, 70, 100 are three
    assert [i for i, _ in _fired(engine, events)] == [3]


def test_referenced_rules_do_not_alert_alone_unless_generate() -> None:
    engine = _engine(BRUTE_FORCE)
    assert [m.rule_id for m in engine.match(_logon(4625, 0))] == []
    generating = _engine(BRUTE_FORCE.replace("    timespan:", "    generate: true\n    timespan:"))
    assert [m.rule_id for m in generating.match(_logon(4625, 0))] == [FAILED]


def test_value_count_counts_distinct_values() -> None:
    engine = _engine(
        """
title: password spraying
correlation:
    type: value_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 3, field: TargetUserName}
"""
    )
    events = [
        _logon(4625, 0, user="a"),
        _logon(4625, 1, user="a"),  # same value again
        _logon(4625, 2, user="b"),
        _logon(4625, 3, user="c", ip="10.0.0.2"),  # another group
        _logon(4625, 4, user="c"),
    ]
    assert _fired(engine, events) == [(4, (("IpAddress", "10.0.0.1"),))]


def test_temporal_needs_every_rule_and_ordered_needs_their_order() -> None:
    body = f"""
title: success after failure
correlation:
    type: {{kind}}
    rules: [failed_logon, {SUCCESS}]
    group-by: [TargetUserName]
    timespan: 1m
"""
    success_first = [_logon(4624, 0), _logon(4625, 10)]
    assert [i for i, _ in _fired(_engine(body.format(kind="temporal")), success_first)] == [1]
    ordered = body.format(kind="temporal_ordered")
    assert _fired(_engine(ordered), success_first) == []
    in_order = [_logon(4625, 0), _logon(4624, 10)]
    assert [i for i, _ in _fired(_engine(ordered), in_order)] == [1]
    too_late = [_logon(4625, 0), _logon(4624, 61)]
    assert _fired(_engine(ordered), too_late) == []


def test_correlation_naming_an_unknown_rule_is_refused() -> None:
    rules = load_rules_text(
        {
            "c.yml": "title: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n"
            "  timespan: 1m\n  condition: {gte: 2}\n"
        }
    )
    assert [r.reason for r in rules.refused] == ["unknown referenced rule: nope"]

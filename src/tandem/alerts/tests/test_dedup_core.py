"""The dedup decision and the sample, as plain functions (no database)."""

from __future__ import annotations

import datetime as dt

from tandem.alerts import dedup
from tandem.alerts.detections import (
    Detection,
    dedup_key,
    key_fields_of,
    prepare,
    severity_of,
    split_attack_tags,
)

T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # any instant: nothing here reads the clock
W = dt.timedelta(minutes=15)


def _m(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_within_the_window_joins_and_after_it_a_new_alert_starts() -> None:
    runs = dedup.runs(_m(0), [_m(10), _m(20), _m(40), _m(50)], W)
    # 10 and 20 extend the collecting alert (each within 15 min of the last); 40 is 20 min
    # after 20: a new alert, which 50 joins.
    assert [(r.joins_current, r.indices) for r in runs] == [(True, [0, 1]), (False, [2, 3])]
    assert runs[1].first == _m(40) and runs[1].last == _m(50)


def test_without_a_collecting_alert_the_first_starts_one_and_late_events_join() -> None:
    runs = dedup.runs(None, [_m(5), _m(1), _m(3)], W)
    assert [(r.joins_current, sorted(r.indices)) for r in runs] == [(False, [0, 1, 2])]
    assert runs[0].first == _m(1) and runs[0].last == _m(5)
    # An event older than the collecting alert's last detection still joins it.
    assert dedup.runs(_m(60), [_m(2)], W)[0].joins_current


def test_the_sample_keeps_the_first_and_the_latest_twenty() -> None:
    assert dedup.kept(0, 5) == [0, 1, 2, 3, 4]
    kept = dedup.kept(0, 100)
    assert kept == list(range(20)) + list(range(80, 100))
    # An alert with 30 events gets 15 more: none of them is among the first twenty; all
    # are among the latest twenty.
    assert dedup.kept(30, 15) == list(range(15))
    assert dedup.kept(10, 40) == list(range(10)) + list(range(20, 40))


def test_levels_tags_and_keys() -> None:
    assert severity_of("Critical") == "critical"
    assert severity_of("") == "medium" and severity_of("urgent") == "medium"
    tactics, techniques = split_attack_tags(
        ["attack.defense_evasion", "attack.t1059.001", "attack.T1110", "attack.s0002", "car.1"]
    )
    assert tactics == ["defense-evasion"]
    assert techniques == ["T1059.001", "T1110"]
    # Key fields compare as text: 4625 and "4625" are the same occurrence.
    assert key_fields_of({"EventID": 4625}) == key_fields_of({"EventID": "4625"})
    assert dedup_key("r", "h", {"a": "1"}) != dedup_key("r", "h", {"a": "2"})


def test_a_detection_without_a_rule_or_with_a_bad_time_is_refused() -> None:
    good = Detection(rule_id="r1", rule_title="", level="low", host=" WEB01 ", time=_m(0))
    prepared = prepare(good, now=_m(10))
    assert prepared.host == "web01" and prepared.rule_title == "r1"
    for bad in (
        Detection(rule_id=" ", rule_title="t", level="low", time=_m(0)),
        Detection(rule_id="r", rule_title="t", level="low", time="yesterday"),
    ):
        try:
            prepare(bad, now=_m(10))
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")
    # A clock ahead is held to now: it must not keep an alert collecting.
    assert prepare(good, now=_m(-5)).at == _m(-5)


def test_a_detection_from_the_engines_match_takes_host_and_time_from_the_event() -> None:
    class Match:  # the engine's Match names these (issue 12, contract 2)
        rule_id = "r-9"
        title = "Suspicious sudo"
        level = "high"
        tags = ("attack.privilege_escalation",)

    event = {"_host": "web01", "_time": "2000-01-01T00:05:00Z", "process": {"name": "sudo"}}
    made = Detection.from_match(Match(), event, {"user.name": "root"})
    prepared = prepare(made, now=_m(60))
    assert (prepared.rule_id, prepared.rule_title, prepared.severity) == (
        "r-9",
        "Suspicious sudo",
        "high",
    )
    assert prepared.host == "web01" and prepared.at == _m(5)
    assert prepared.tactics == ["privilege-escalation"]
    assert prepared.key_fields == {"user.name": "root"}

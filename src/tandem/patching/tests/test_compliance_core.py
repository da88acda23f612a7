"""The pure compliance core (decision 0033) over hand-built rows: dates relative to a fixed
point only, so nothing here depends on today."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.patching import compliance as c

NOW = dt.datetime(2040, 6, 15, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CE = c.Options(rule=c.rule_for(c.Preset.CYBER_ESSENTIALS))


def device(pk: int, **kw: object) -> c.DeviceRow:
    base: dict = {"device_id": pk, "name": f"pc-{pk}", "active": True, "last_seen_at": NOW - DAY}
    base.update(kw)
    return c.DeviceRow(**base)


def state(pk: int, severity: str = "critical", status: str = "missing", **kw: object) -> c.StateRow:
    base: dict = {
        "device_id": pk,
        "status": status,
        "severity": severity,
        "security": True,
        "missing_since": NOW - 30 * DAY,
        "released_at": NOW - 30 * DAY,
    }
    base.update(kw)
    return c.StateRow(**base)


def test_a_device_with_an_overdue_critical_update_is_not_current() -> None:
    result = c.evaluate([device(1), device(2)], [state(1)], NOW, CE)
    assert result.overall.in_scope == 2
    assert result.overall.current == 1
    assert result.overall.percent_current == 50.0
    failing = next(d for d in result.devices if d.device_id == 1)
    assert failing.overdue["critical"] == 1
    assert failing.oldest_overdue_since == NOW - 30 * DAY


def test_an_update_within_its_deadline_is_not_overdue() -> None:
    fresh = state(1, released_at=NOW - 13 * DAY, missing_since=NOW - 13 * DAY)
    assert c.evaluate([device(1)], [fresh], NOW, CE).overall.percent_current == 100.0


def test_installed_and_superseded_updates_count_as_installed() -> None:
    rows = [
        state(1, status="installed", installed_at=NOW - 2 * DAY),
        state(1, status="superseded", closed_at=NOW - 3 * DAY),
    ]
    result = c.evaluate([device(1)], rows, NOW, CE)
    assert result.overall.current == 1
    # Both resolved late (28 and 27 days after release): SLA misses, and both timed.
    assert (result.overall.sla_pairs, result.overall.sla_met) == (2, 0)
    assert result.overall.time_to_patch["critical"].count == 2


def test_unknown_severity_counts_as_high_under_cyber_essentials_only() -> None:
    unrated = state(1, severity="unknown")
    assert c.evaluate([device(1)], [unrated], NOW, CE).overall.current == 0
    cis = c.Options(rule=c.rule_for(c.Preset.CIS_7_3))
    assert c.evaluate([device(1)], [unrated], NOW, cis).overall.current == 1
    # A bug fix without a severity is no vulnerability fix, even under Cyber Essentials.
    bugfix = state(1, severity="unknown", security=False)
    assert c.evaluate([device(1)], [bugfix], NOW, CE).overall.current == 1


def test_cvss_banding_gives_an_unrated_update_its_severity() -> None:
    assert [c.band_cvss(s) for s in (9.0, 8.9, 7.0, 6.9, 4.0, 3.9)] == [
        "critical",
        "high",
        "high",
        "medium",
        "medium",
        "low",
    ]
    medium = state(1, severity="unknown", max_cvss=5.0)
    assert c.evaluate([device(1)], [medium], NOW, CE).overall.current == 1


def test_stale_and_retired_devices_are_out_of_scope() -> None:
    devices = [
        device(1),
        device(2, last_seen_at=NOW - 15 * DAY),
        device(3, last_seen_at=None),
        device(4, active=False),
    ]
    states = [state(2), state(3), state(4)]
    result = c.evaluate(devices, states, NOW, CE)
    assert (result.overall.devices, result.overall.in_scope) == (4, 1)
    assert result.overall.percent_current == 100.0
    assert result.overall.overdue_updates == 0
    assert [d.current for d in result.devices if not d.in_scope] == [None, None, None]


def test_nobody_in_scope_gives_no_percentage_rather_than_zero() -> None:
    assert c.evaluate([], [], NOW, CE).overall.percent_current is None


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    rows = [
        state(1, status="installed", released_at=NOW - (d + 1) * DAY, installed_at=NOW - DAY)
        for d in (1, 2, 4, 10)
    ]
    figures = c.evaluate([device(1)], rows, NOW, CE).overall.time_to_patch["critical"]
    assert figures.count == 4
    assert figures.median_days == 3.0
    assert figures.mean_days == 4.25


def test_time_to_patch_falls_back_to_detection_without_a_release_date() -> None:
    row = state(
        1,
        status="installed",
        released_at=None,
        missing_since=NOW - 5 * DAY,
        installed_at=NOW - DAY,
    )
    overall = c.evaluate([device(1)], [row], NOW, CE).overall
    assert overall.time_to_patch["critical"].median_days == 4.0
    assert overall.time_to_patch_from_detection["critical"].median_days == 4.0


def test_sla_attainment_counts_open_pairs_past_the_deadline_as_misses() -> None:
    rows = [
        state(1, status="installed", released_at=NOW - 20 * DAY, installed_at=NOW - 10 * DAY),
        state(1, released_at=NOW - 20 * DAY),  # open past 14 days: a miss
        state(1, released_at=NOW - 3 * DAY),  # open within its deadline: not counted yet
    ]
    overall = c.evaluate([device(1)], rows, NOW, CE).overall
    assert (overall.sla_pairs, overall.sla_met, overall.sla_percent) == (2, 1, 50.0)


def test_essential_eight_gives_internet_facing_devices_48_hours_for_critical() -> None:
    e8 = c.Options(rule=c.rule_for(c.Preset.ESSENTIAL_EIGHT))
    three_days = state(1, released_at=NOW - 3 * DAY, missing_since=NOW - 3 * DAY)
    inside = [device(1), device(2, internet_facing=True)]
    rows = [three_days, state(2, released_at=NOW - 3 * DAY, missing_since=NOW - 3 * DAY)]
    result = c.evaluate(inside, rows, NOW, e8)
    assert {d.device_id: d.current for d in result.devices} == {1: True, 2: False}


def test_custom_preset_uses_its_days_and_refuses_zero() -> None:
    rule = c.rule_for(c.Preset.CUSTOM, 40)
    assert c.evaluate([device(1)], [state(1)], NOW, c.Options(rule=rule)).overall.current == 1
    with pytest.raises(ValueError):
        c.rule_for(c.Preset.CUSTOM, 0)
    with pytest.raises(ValueError):
        c.rule_for("nist")


def test_reboot_debt_starts_at_the_install_that_asked_for_it() -> None:
    since = NOW - 2 * DAY
    pending = device(1, reboot_pending=True, reboot_pending_since=since)
    # Installed ten days ago; the agent's first report of the pending reboot came later.
    installed = state(1, status="installed", installed_at=NOW - 10 * DAY)
    result = c.evaluate([pending], [installed], NOW, CE)
    assert result.devices[0].reboot_debt_since == NOW - 10 * DAY
    assert result.overall.reboot_debt == 1
    # Without a recorded install, the debt is as old as the first report: not yet debt.
    assert c.evaluate([pending], [], NOW, CE).overall.reboot_debt == 0
    # An agent that reports no pending reboot has no debt, whatever was installed.
    quiet = device(1, reboot_pending=False)
    assert c.evaluate([quiet], [installed], NOW, CE).overall.reboot_debt == 0


def test_coverage_and_breakdowns_by_site_and_party() -> None:
    devices = [
        device(1, site_id=10, site_name="HQ", party_id=5, party_name="MSP"),
        device(2, site_id=10, site_name="HQ", party_id=6, party_name="Internal IT"),
        device(3, site_id=None, party_id=6, party_name="Internal IT", last_seen_at=NOW - 9 * DAY),
    ]
    result = c.evaluate(devices, [state(2)], NOW, CE)
    assert result.overall.coverage_percent == pytest.approx(66.7)
    sites = {g.label: g.figures.percent_current for g in result.by_site}
    assert sites == {"HQ": 50.0, "No site": 100.0}
    parties = {g.label: (g.figures.in_scope, g.figures.current) for g in result.by_party}
    assert parties == {"MSP": (1, 1), "Internal IT": (2, 1)}
    # Worst first.
    assert result.by_party[0].label == "Internal IT"


severities = st.sampled_from(c.SEVERITIES)
statuses = st.sampled_from(["missing", "installed", "superseded"])


@st.composite
def state_rows(draw: st.DrawFn) -> c.StateRow:
    start = NOW - draw(st.integers(0, 200)) * DAY
    resolved = start + draw(st.integers(0, 60)) * DAY
    status = draw(statuses)
    return c.StateRow(
        device_id=draw(st.integers(1, 5)),
        status=status,
        severity=draw(severities),
        security=draw(st.booleans()),
        missing_since=start,
        released_at=start if draw(st.booleans()) else None,
        installed_at=resolved if status == "installed" else None,
        closed_at=resolved if status == "superseded" else None,
    )


# No deadline: a loaded machine (CI, parallel suites) must not fail a correct property.
@settings(deadline=None)
@given(
    rows=st.lists(state_rows(), max_size=40),
    stale=st.sets(st.integers(1, 5)),
    preset=st.sampled_from([p for p, _ in c.Preset.CHOICES]),
)
def test_figures_stay_within_their_bounds(
    rows: list[c.StateRow], stale: set[int], preset: str
) -> None:
    devices = [
        device(pk, last_seen_at=NOW - (30 if pk in stale else 1) * DAY) for pk in range(1, 6)
    ]
    result = c.evaluate(devices, rows, NOW, c.Options(rule=c.rule_for(preset)))
    overall = result.overall
    assert overall.in_scope == 5 - len(stale)
    assert 0 <= overall.current <= overall.in_scope
    assert 0 <= overall.sla_met <= overall.sla_pairs
    for figures in overall.time_to_patch.values():
        if figures.count:
            assert figures.median_days is not None and figures.median_days >= 0
    # Installing every missing update makes every in-scope device current.
    fixed = [
        c.StateRow(**{**r.__dict__, "status": "installed", "installed_at": NOW})
        if r.status == "missing"
        else r
        for r in rows
    ]
    assert c.evaluate(devices, fixed, NOW, c.Options(rule=c.rule_for(preset))).overall.current == (
        overall.in_scope
    )

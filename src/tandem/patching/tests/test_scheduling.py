"""Install planning: approved updates into maintenance windows (the pure core the jobs
wiring calls). Moments are arguments, on dates far from today."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.patching.scheduling import (
    Candidate,
    DevicePlanInput,
    installable_from,
    plan_installs,
    promotion_open,
)
from tandem.patching.windows import WindowSpec, window_at

UTC = dt.UTC
YEAR = 2031
#: Saturdays 22:00-02:00 in Berlin.
SATURDAYS = WindowSpec(
    "FREQ=WEEKLY;BYDAY=SA", dt.datetime(YEAR, 1, 4, 22), "Europe/Berlin", dt.timedelta(hours=4)
)
MONDAY = dt.datetime(YEAR, 6, 2, 9, tzinfo=UTC)  # a Monday morning


def device(
    device_id: int = 1, window: WindowSpec | None = SATURDAYS, reboot: str = "if_required"
) -> DevicePlanInput:
    return DevicePlanInput(device_id, 7, window, reboot, 24)


def candidate(entry_id: int, installable: dt.datetime | None, **extra) -> Candidate:  # type: ignore[no-untyped-def]
    values = {
        "device_id": 1,
        "entry_id": entry_id,
        "item_id": f"pkg{entry_id}:amd64",
        "package": f"pkg{entry_id}",
        "version": "1.0",
        "approval": "approved",
        "installable_from": installable,
        **extra,
    }
    return Candidate(**values)


def test_approved_updates_go_into_the_next_window_with_the_reboot_policy() -> None:
    plans = plan_installs(
        devices=[device()],
        candidates=[candidate(1, MONDAY - dt.timedelta(days=1)), candidate(2, MONDAY)],
        now=MONDAY,
    )
    assert len(plans) == 1
    plan = plans[0]
    assert [p.package for p in plan.packages] == ["pkg1", "pkg2"]
    # Saturday 22:00 Berlin in summer is 20:00 UTC; four hours long.
    assert plan.window_start == dt.datetime(YEAR, 6, 7, 20, tzinfo=UTC)
    assert plan.window_end == plan.window_start + dt.timedelta(hours=4)
    assert plan.reboot_mode == "if_required"
    assert plan.reboot_deadline == plan.window_end + dt.timedelta(hours=24)
    assert plan.origin == f"patching:device:1:{YEAR}0607T2000Z"


def test_an_update_installable_only_later_waits_for_a_later_window() -> None:
    later = dt.datetime(YEAR, 6, 10, tzinfo=UTC)  # after this Saturday, before the next
    plans = plan_installs(devices=[device()], candidates=[candidate(1, later)], now=MONDAY)
    assert plans[0].window_start == dt.datetime(YEAR, 6, 14, 20, tzinfo=UTC)
    # With one installable now, the first window takes that one only.
    plans = plan_installs(
        devices=[device()], candidates=[candidate(1, later), candidate(2, MONDAY)], now=MONDAY
    )
    assert [p.entry_id for p in plans[0].packages] == [2]


def test_nothing_is_planned_without_a_window_approval_or_past_the_ring_gate() -> None:
    assert (
        plan_installs(devices=[device(window=None)], candidates=[candidate(1, MONDAY)], now=MONDAY)
        == []
    )
    for blocked in (
        candidate(1, MONDAY, approval="awaiting"),
        candidate(1, MONDAY, approval="rejected"),
        candidate(1, MONDAY, approval="excluded"),
        candidate(1, MONDAY, held_back=True),
        candidate(1, None),
    ):
        assert plan_installs(devices=[device()], candidates=[blocked], now=MONDAY) == []


def test_a_window_already_open_starts_the_plan_now_and_never_reboot_has_no_deadline() -> None:
    inside = dt.datetime(YEAR, 6, 7, 21, tzinfo=UTC)
    plans = plan_installs(
        devices=[device(reboot="never")], candidates=[candidate(1, MONDAY)], now=inside
    )
    assert plans[0].window_start == inside
    assert plans[0].window_end == dt.datetime(YEAR, 6, 8, 0, tzinfo=UTC)
    assert plans[0].reboot_deadline is None
    # The origin names the occurrence's opening, so a later run in the same window gives
    # the same one (jobs are made once per window).
    later = plan_installs(
        devices=[device(reboot="never")],
        candidates=[candidate(1, MONDAY)],
        now=inside + dt.timedelta(minutes=30),
    )
    assert later[0].origin == plans[0].origin == f"patching:device:1:{YEAR}0607T2000Z"


def test_plans_are_per_device_ordered_by_window_then_device() -> None:
    daily = WindowSpec("FREQ=DAILY", dt.datetime(YEAR, 1, 1, 1), "UTC", dt.timedelta(hours=1))
    plans = plan_installs(
        devices=[device(2), device(1, window=daily), device(3)],
        candidates=[
            candidate(1, MONDAY, device_id=2),
            candidate(1, MONDAY, device_id=1),
            candidate(5, MONDAY, device_id=3),
        ],
        now=MONDAY,
    )
    assert [(p.device_id, p.window_start.day) for p in plans] == [(1, 3), (2, 7), (3, 7)]


def test_when_an_update_may_install() -> None:
    seen = dt.datetime(YEAR, 5, 1, tzinfo=UTC)
    released = dt.datetime(YEAR, 4, 20, tzinfo=UTC)
    common = {"missing_since": seen, "auto_approve_after_days": 3, "ring_deferral_days": 2}
    assert installable_from(
        approval="auto", approved_at=None, released_at=released, **common
    ) == released + dt.timedelta(days=5)
    assert installable_from(
        approval="auto", approved_at=None, released_at=None, **common
    ) == seen + dt.timedelta(days=5)
    # A person's approval is not delayed by the policy's days, only by the ring's.
    approved = dt.datetime(YEAR, 4, 21, tzinfo=UTC)
    assert installable_from(
        approval="approved", approved_at=approved, released_at=released, **common
    ) == released + dt.timedelta(days=2)
    assert (
        installable_from(approval="approved", approved_at=seen, released_at=released, **common)
        == seen
    )
    assert (
        installable_from(approval="awaiting", approved_at=None, released_at=released, **common)
        is None
    )


def test_the_promotion_gate() -> None:
    assert promotion_open(successes=0, failures=0, min_successes=0, max_failure_percent=100)
    assert not promotion_open(successes=2, failures=0, min_successes=3, max_failure_percent=10)
    assert promotion_open(successes=9, failures=1, min_successes=3, max_failure_percent=10)
    assert not promotion_open(successes=8, failures=2, min_successes=3, max_failure_percent=10)


@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.integers(-20 * 24, 40 * 24), min_size=1, max_size=6),
    now_hours=st.integers(0, 24 * 7),
)
def test_every_plan_is_inside_a_window_and_only_holds_updates_installable_by_its_start(
    offsets: list[int], now_hours: int
) -> None:
    now = MONDAY + dt.timedelta(hours=now_hours)
    candidates = [
        candidate(i, MONDAY + dt.timedelta(hours=h)) for i, h in enumerate(offsets, start=1)
    ]
    plans = plan_installs(devices=[device()], candidates=candidates, now=now)
    for plan in plans:
        assert plan.window_start >= now
        assert window_at(SATURDAYS, plan.window_start) is not None
        assert plan.packages
        for package in plan.packages:
            due = next(c.installable_from for c in candidates if c.entry_id == package.entry_id)
            assert due is not None and due <= plan.window_start

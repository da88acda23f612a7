"""The routing core and the matrix's gap analysis, on plain data."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tandem.responsibility.routing import (
    CoverageEntry,
    MatrixRow,
    RoutingContext,
    TicketFacts,
    analyse,
    route,
)
from tandem.sla.calendar import BusinessCalendar, always_open

LONDON = ZoneInfo("Europe/London")
OFFICE = BusinessCalendar(
    time_zone="Europe/London", weekly={d: (("08:00", "17:00"),) for d in range(5)}
)
NIGHTS = BusinessCalendar(
    time_zone="Europe/London",
    weekly={d: (("00:00", "08:00"), ("17:00", "24:00")) for d in range(5)}
    | {5: (("00:00", "24:00"),), 6: (("00:00", "24:00"),)},
)
INTERNAL, MSP, MSSP = 1, 2, 3
SERVERS, DESK, SECURITY = 10, 11, 12
NAMES = {INTERNAL: "Contoso IT", MSP: "Northwind MSP", MSSP: "Sentinel MSSP"}
AREAS = {SERVERS: "Server patching", DESK: "Tier-1 desk", SECURITY: "Security monitoring"}
ALL = frozenset({INTERNAL, MSP, MSSP})


def context(rows, coverage, eligible=None, urgent_max=2):  # type: ignore[no-untyped-def]
    return RoutingContext(
        rows=rows,
        coverage=coverage,
        party_names=NAMES,
        area_names=AREAS,
        triage_party_id=INTERNAL,
        eligible=eligible if eligible is not None else {(a, None): ALL for a in AREAS},
        urgent_max=urgent_max,
    )


DESK_ROW = MatrixRow(
    1, DESK, responsible_id=INTERNAL, accountable_id=INTERNAL, consulted_ids=(MSP,)
)
CO_MANAGED = context(
    [DESK_ROW],
    [CoverageEntry(INTERNAL, OFFICE), CoverageEntry(MSP, NIGHTS, max_priority=2)],
)
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
TUESDAY_22 = dt.datetime(2026, 12, 1, 22, 0, tzinfo=LONDON)


def test_business_hours_go_to_the_responsible_party() -> None:
    decision = route(TicketFacts(DESK, 2, TUESDAY_10), CO_MANAGED)
    assert decision.party_id == INTERNAL
    assert decision.reason == "Tier-1 desk → Contoso IT (R); P2"


def test_urgent_after_hours_goes_to_whoever_covers_nights() -> None:
    decision = route(TicketFacts(DESK, 2, TUESDAY_22), CO_MANAGED)
    assert decision.party_id == MSP
    assert decision.reason == "Tier-1 desk → Northwind MSP (on duty); Contoso IT (R) off duty; P2"


def test_non_urgent_after_hours_waits_for_the_responsible_party() -> None:
    decision = route(TicketFacts(DESK, 3, TUESDAY_22), CO_MANAGED)
    assert decision.party_id == INTERNAL and not decision.on_duty
    assert "waits for its hours" in decision.reason


def test_the_most_specific_row_wins() -> None:
    rows = [
        MatrixRow(1, SERVERS, responsible_id=INTERNAL, accountable_id=INTERNAL),
        MatrixRow(2, SERVERS, responsible_id=MSP, accountable_id=INTERNAL, site_id=7),
    ]
    ctx = context(rows, [])
    assert route(TicketFacts(SERVERS, 3, TUESDAY_10, site_id=7), ctx).party_id == MSP
    assert route(TicketFacts(SERVERS, 3, TUESDAY_10, site_id=8), ctx).party_id == INTERNAL


def test_no_row_goes_to_triage() -> None:
    decision = route(TicketFacts(SECURITY, 1, TUESDAY_10), CO_MANAGED)
    assert decision.party_id == INTERNAL
    assert "triage: no responsible party" in decision.reason


def test_a_provider_without_a_live_engagement_never_gets_the_ticket() -> None:
    rows = [MatrixRow(1, SERVERS, responsible_id=MSP, accountable_id=INTERNAL)]
    ctx = context(rows, [], eligible={(SERVERS, None): frozenset({INTERNAL})})
    decision = route(TicketFacts(SERVERS, 2, TUESDAY_10), ctx)
    assert decision.party_id == INTERNAL
    assert "is not engaged for this now" in decision.reason


def test_an_off_duty_stand_in_outside_scope_is_skipped() -> None:
    ctx = context(
        [DESK_ROW],
        [CoverageEntry(INTERNAL, OFFICE), CoverageEntry(MSP, NIGHTS, max_priority=2)],
        eligible={(DESK, None): frozenset({INTERNAL})},
    )
    decision = route(TicketFacts(DESK, 1, TUESDAY_22), ctx)
    assert decision.party_id == INTERNAL and not decision.on_duty


def test_overlapping_rows_are_resolved_and_said() -> None:
    rows = [
        MatrixRow(5, SERVERS, responsible_id=MSP, accountable_id=INTERNAL),
        MatrixRow(6, SERVERS, responsible_id=MSSP, accountable_id=INTERNAL),
    ]
    decision = route(TicketFacts(SERVERS, 3, TUESDAY_10), context(rows, []))
    assert decision.party_id == MSP and "overlapping rows, oldest wins" in decision.reason


WEEK = dt.datetime(2026, 11, 30, 0, 0, tzinfo=LONDON)  # a Monday


def test_gap_analysis_flags_uncovered_p1_nights() -> None:
    ctx = context([DESK_ROW], [CoverageEntry(INTERNAL, OFFICE)])
    findings = analyse(ctx, area_ids=[DESK], week_start=WEEK)
    uncovered = [f for f in findings if f.kind == "uncovered" and f.priority == 1]
    assert len(uncovered) == 1
    assert "Tier-1 desk: nobody on duty for P1 Mon 00:00–Mon 08:00, Mon 17:00–Tue 08:00" in (
        uncovered[0].message
    )
    assert uncovered[0].windows[-1][1] == dt.datetime(2026, 12, 7, 0, 0)  # through Sunday


def test_nights_cover_makes_the_gap_disappear() -> None:
    findings = analyse(CO_MANAGED, area_ids=[DESK], week_start=WEEK)
    assert [f for f in findings if f.kind == "uncovered"] == []


def test_p2_gap_when_the_night_cover_takes_p1_only() -> None:
    ctx = context(
        [DESK_ROW], [CoverageEntry(INTERNAL, OFFICE), CoverageEntry(MSP, NIGHTS, max_priority=1)]
    )
    findings = analyse(ctx, area_ids=[DESK], week_start=WEEK)
    assert {f.priority for f in findings if f.kind == "uncovered"} == {2}


def test_gap_analysis_flags_missing_and_double_responsibility() -> None:
    rows = [
        MatrixRow(1, SERVERS, responsible_id=MSP, accountable_id=INTERNAL),
        MatrixRow(2, SERVERS, responsible_id=INTERNAL, accountable_id=INTERNAL),
    ]
    ctx = context(rows, [CoverageEntry(INTERNAL, always_open("Europe/London"))])
    findings = analyse(ctx, area_ids=[SERVERS, SECURITY], week_start=WEEK)
    kinds = {(f.kind, f.service_area_id) for f in findings}
    assert ("overlap", SERVERS) in kinds
    assert ("no_responsible", SECURITY) in kinds
    assert any(f.kind == "no_coverage" and "Northwind MSP" in f.message for f in findings)


def test_a_suspended_provider_does_not_count_as_cover() -> None:
    ctx = context(
        [DESK_ROW],
        [CoverageEntry(INTERNAL, OFFICE), CoverageEntry(MSP, NIGHTS)],
        eligible={(DESK, None): frozenset({INTERNAL})},
    )
    findings = analyse(ctx, area_ids=[DESK], week_start=WEEK)
    assert any(f.kind == "uncovered" and f.priority == 1 for f in findings)


def test_a_row_whose_provider_is_no_longer_engaged_is_flagged_not_counted_on_duty() -> None:
    """Northwind is Responsible for the desk, has no hours, and its engagement ended: it
    is not "always on duty" (it can hold nothing), the row is flagged, and the gap the
    area is left with reads as the whole week, not "Mon 00:00–Mon 00:00"."""
    row = MatrixRow(7, DESK, responsible_id=MSP, accountable_id=INTERNAL)
    ended = RoutingContext(  # nobody may hold the desk's tickets here (no triage party)
        rows=[row],
        coverage=[CoverageEntry(INTERNAL, OFFICE, service_area_id=SECURITY)],
        party_names=NAMES,
        area_names=AREAS,
        triage_party_id=99,
        eligible={(DESK, None): frozenset()},
    )

    findings = analyse(ended, area_ids=[DESK], week_start=WEEK)

    kinds = {f.kind for f in findings}
    assert "not_engaged" in kinds and "no_coverage" not in kinds
    (flag,) = [f for f in findings if f.kind == "not_engaged"]
    assert flag.message == (
        "Tier-1 desk: Northwind MSP is Responsible but has no live engagement covering it, "
        "so its tickets go elsewhere"
    )
    p1 = [f for f in findings if f.kind == "uncovered" and f.priority == 1]
    assert p1 and p1[0].message == "Tier-1 desk: nobody on duty for P1 at any time of the week"

"""The dashboards' arithmetic on hand-computed fixtures (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from tandem.reports import metrics
from tandem.reports.metrics import HandoffRow, TicketRow

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SINCE = NOW - dt.timedelta(days=30)
IT, MSP = 1, 2


def at(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).isoformat()


def met(days_ago: float) -> dict[str, object]:
    return {"state": "met", "met": at(days_ago), "breached": None, "due": at(days_ago - 1)}


def breached(days_ago: float) -> dict[str, object]:
    return {"state": "breached", "met": None, "breached": at(days_ago), "due": at(days_ago)}


def row(pk: int, party: int, kind: str, created_days_ago: float, **sla: object) -> TicketRow:
    return TicketRow(
        ticket_id=pk,
        tenant_id=1,
        party_id=party,
        status_kind=kind,
        created_at=NOW - dt.timedelta(days=created_days_ago),
        sla_state=sla,
    )


ROWS = [
    # IT first response: met, met, met, breached → 3/4 = 75.0 %.
    # IT resolution: met, breached (and one met 40 days ago, outside the window) → 1/2 = 50.0 %.
    row(1, IT, "resolved", 5, **{str(IT): {"first_response": met(5), "resolution": met(4)}}),
    row(2, IT, "closed", 6, **{str(IT): {"first_response": met(6), "resolution": breached(5)}}),
    row(3, IT, "open", 2, **{str(IT): {"first_response": met(2)}}),
    row(
        4,
        MSP,
        "waiting",
        10,
        **{
            str(IT): {"first_response": breached(9), "resolution": {"state": "paused"}},
            # MSP: first response met; resolution still running but past due → breached.
            str(MSP): {
                "first_response": met(9),
                "resolution": {"state": "running", "due": at(1), "met": None, "breached": None},
            },
        },
    ),
    row(5, IT, "resolved", 45, **{str(IT): {"first_response": met(44), "resolution": met(40)}}),
    # Running, due tomorrow: counts nowhere yet.
    row(
        6,
        MSP,
        "new",
        0.5,
        **{str(MSP): {"first_response": {"state": "running", "due": at(-1)}}},
    ),
]


def test_attainment_per_party_matches_the_hand_count() -> None:
    found = metrics.attainment(ROWS, since=SINCE, until=NOW)
    assert found[IT]["first_response"] == metrics.Attainment(met=3, breached=1)
    assert found[IT]["first_response"].percent == 75.0
    assert found[IT]["resolution"] == metrics.Attainment(met=1, breached=1)
    assert found[IT]["resolution"].percent == 50.0
    assert found[MSP]["first_response"] == metrics.Attainment(met=1, breached=0)
    assert found[MSP]["first_response"].percent == 100.0
    assert found[MSP]["resolution"] == metrics.Attainment(met=0, breached=1)
    assert found[MSP]["resolution"].percent == 0.0


def test_two_of_three_is_sixty_six_point_seven() -> None:
    assert metrics.Attainment(met=2, breached=1).percent == 66.7
    assert metrics.Attainment().percent is None


def test_a_narrower_window_leaves_older_clocks_out() -> None:
    found = metrics.attainment(ROWS, since=NOW - dt.timedelta(days=3), until=NOW)
    # Only ticket 3's first response (2 days ago) and ticket 4's overdue MSP resolution.
    assert found[IT]["first_response"] == metrics.Attainment(met=1, breached=0)
    assert found[MSP]["resolution"] == metrics.Attainment(met=0, breached=1)
    assert found[MSP]["first_response"] == metrics.Attainment()


def test_breaches_per_party_and_metric() -> None:
    assert metrics.breaches(ROWS, since=SINCE, until=NOW) == {
        IT: {"resolution": 1, "first_response": 1},
        MSP: {"resolution": 1},
    }


def test_open_work_by_party() -> None:
    # Open: 3 (IT), 4 (MSP, waiting), 6 (MSP, new); 1, 2 and 5 are done.
    assert metrics.open_by_party(ROWS) == {IT: 1, MSP: 2}


def test_backlog_age_buckets() -> None:
    # Open tickets are 2, 10 and 0.5 days old.
    assert metrics.backlog_age_buckets(ROWS, now=NOW) == {
        "0–1 d": 1,
        "1–3 d": 1,
        "3–7 d": 0,
        "7–30 d": 1,
        ">30 d": 0,
    }


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (dt.timedelta(0), "0–1 d"),
        (dt.timedelta(hours=23, minutes=59), "0–1 d"),
        (dt.timedelta(days=1), "1–3 d"),
        (dt.timedelta(days=3), "3–7 d"),
        (dt.timedelta(days=7), "7–30 d"),
        (dt.timedelta(days=30), ">30 d"),
        (dt.timedelta(days=400), ">30 d"),
        (dt.timedelta(minutes=-5), "0–1 d"),
    ],
)
def test_bucket_bounds(age: dt.timedelta, bucket: str) -> None:
    assert metrics.age_bucket(age) == bucket


def test_handoffs_and_ping_pong() -> None:
    rows = [
        HandoffRow(IT, MSP, NOW - dt.timedelta(days=3)),
        HandoffRow(MSP, IT, NOW - dt.timedelta(days=3), is_ping_pong=True),
        HandoffRow(IT, MSP, NOW - dt.timedelta(days=2), is_ping_pong=True),
        HandoffRow(IT, MSP, NOW - dt.timedelta(days=1)),
        HandoffRow(IT, MSP, NOW - dt.timedelta(days=45)),  # outside the window
    ]
    assert metrics.handoff_stats(rows, since=SINCE, until=NOW) == {
        (IT, MSP): metrics.HandoffCount(handoffs=3, ping_pong=1),
        (MSP, IT): metrics.HandoffCount(handoffs=1, ping_pong=1),
    }


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        metrics.outcome({"state": "met", "met": "2026-06-01T10:00:00"}, until=NOW)

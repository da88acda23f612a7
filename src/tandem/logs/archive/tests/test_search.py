"""Writing events and finding them again: time, host, field, free text, pages, odd events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.logs.archive import EventPage, append, around, search
from tandem.logs.archive.tests.support import (
    DAY,
    HOUR,
    MINUTE,
    T0,
    linux_event,
    times_of,
    windows_event,
)


def everything(base: Path, tenant: int | str = 1, **filters) -> EventPage:
    return search(base, tenant, start=T0 - 10 * DAY, end=T0 + 10 * DAY, limit=1000, **filters)


def test_events_come_back_as_written_newest_first(tmp_path: Path) -> None:
    written = [windows_event(T0 + n * MINUTE, user=f"user{n}") for n in range(5)]
    written.append(linux_event(T0 + 90 * MINUTE))
    result = append(tmp_path, 1, written)

    assert result.events == 6
    # One part per hour touched, in the hourly layout.
    assert sorted(path.parent.name for path in result.files) == ["hour=10", "hour=11"]
    assert all(path.parent.parent.name == "date=2021-05-04" for path in result.files)
    assert everything(tmp_path).events == list(reversed(written))


def test_the_range_includes_its_start_and_excludes_its_end(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0 + n * 30 * MINUTE) for n in range(6)])

    page = search(tmp_path, 1, start=T0 + 30 * MINUTE, end=T0 + 2 * HOUR)

    assert times_of(page.events) == [
        (T0 + 90 * MINUTE).isoformat(),
        (T0 + 60 * MINUTE).isoformat(),
        (T0 + 30 * MINUTE).isoformat(),
    ]


def test_a_search_reads_only_the_hours_of_its_range(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0), windows_event(T0 + 3 * HOUR)])
    # An unreadable file in an hour outside the range would fail the search if it were read.
    (tmp_path / "tenant=1" / "date=2021-05-04" / "hour=13" / "part-broken.parquet").write_text(
        "not parquet"
    )

    page = search(tmp_path, 1, start=T0, end=T0 + HOUR)

    assert times_of(page.events) == [T0.isoformat()]


def test_host_filter_ignores_case_and_takes_a_wildcard(tmp_path: Path) -> None:
    append(
        tmp_path,
        1,
        [
            windows_event(T0, host="WS-01.corp.example"),
            windows_event(T0 + MINUTE, host="ws-02.corp.example"),
            linux_event(T0 + 2 * MINUTE, host="srv-01"),
        ],
    )

    exact = everything(tmp_path, host="ws-01.CORP.example")
    pattern = everything(tmp_path, host="WS-*")

    assert [event["_host"] for event in exact.events] == ["WS-01.corp.example"]
    assert [event["_host"] for event in pattern.events] == [
        "ws-02.corp.example",
        "WS-01.corp.example",
    ]
    assert everything(tmp_path, host="ws-0").events == []


def test_fields_match_by_dotted_path_or_sigma_name(tmp_path: Path) -> None:
    append(
        tmp_path,
        1,
        [
            windows_event(T0, user="Administrator"),
            windows_event(T0 + MINUTE, user="bob"),
        ],
    )
    append(tmp_path, 1, [linux_event(T0 + 2 * MINUTE)])

    def users(fields: dict[str, str]) -> list[str]:
        found = everything(tmp_path, fields=fields).events
        return [
            event.get("Event", {}).get("EventData", {}).get("TargetUserName") for event in found
        ]

    assert users({"Event.EventData.TargetUserName": "administrator"}) == ["Administrator"]
    assert users({"TargetUserName": "ADMIN*"}) == ["Administrator"]
    # A number in the event matches its decimal text; EventID lives under Event.System.
    assert users({"EventID": "4625", "LogonType": "3"}) == ["bob", "Administrator"]
    assert users({"TargetUserName": "admin"}) == []
    # Several fields must all match.
    assert users({"TargetUserName": "bob", "EventID": "4624"}) == []
    ecs = everything(tmp_path, fields={"process.name": "SSHD", "process.pid": "812"}).events
    assert [event["message"] for event in ecs] == ["hello"]


def test_wildcard_is_the_only_pattern_character(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0, user="a_b%c"), windows_event(T0, user="axbyc")])

    found = everything(tmp_path, fields={"TargetUserName": "a_b%*"}).events

    assert [event["Event"]["EventData"]["TargetUserName"] for event in found] == ["a_b%c"]


def test_free_text_finds_words_anywhere_ignoring_case(tmp_path: Path) -> None:
    append(
        tmp_path,
        1,
        [
            windows_event(T0, CommandLine='"C:\\Windows\\System32\\cmd.exe" /c whoami'),
            linux_event(T0 + MINUTE, message="Failed password for Invalid user oracle"),
            linux_event(T0 + 2 * MINUTE, message="Jürgen ran a.b(c)*[x]? at $HOME ^_^"),
            linux_event(T0 + 3 * MINUTE, message="Jurgen ran axb(c)[x] at HOME"),
        ],
    )

    assert times_of(everything(tmp_path, text="invalid USER").events) == [
        (T0 + MINUTE).isoformat().replace("+00:00", "Z")
    ]
    # Backslashes and quotes are found as typed, not as their JSON escapes.
    assert len(everything(tmp_path, text='"c:\\windows\\system32\\cmd.exe" /c').events) == 1
    assert everything(tmp_path, text="nowhere").events == []
    # Pattern characters are plain text; case folds beyond ASCII.
    special = everything(tmp_path, text="JÜRGEN RAN A.B(C)*[X]? AT $home ^_^").events
    assert [event["message"] for event in special] == ["Jürgen ran a.b(c)*[x]? at $HOME ^_^"]


def test_pages_follow_each_other_without_repeat_or_gap(tmp_path: Path) -> None:
    # Several events share one microsecond: the archive key orders them.
    written = [windows_event(T0 + (n // 3) * MINUTE, user=f"u{n}") for n in range(25)]
    append(tmp_path, 1, written[:10])
    append(tmp_path, 1, written[10:])

    seen: list[str] = []
    cursor = None
    while True:
        page = search(tmp_path, 1, start=T0, end=T0 + DAY, limit=4, cursor=cursor)
        seen.extend(event["Event"]["EventData"]["TargetUserName"] for event in page.events)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(f"u{n}" for n in range(25))
    assert len(seen) == 25


def test_appends_between_pages_do_not_shift_the_next_page(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0 + n * MINUTE, user=f"old{n}") for n in range(10)])
    first = search(tmp_path, 1, start=T0, end=T0 + DAY, limit=4)

    # Newer events arrive, some in the same minutes as the ones already shown.
    append(tmp_path, 1, [windows_event(T0 + (20 + n) * MINUTE, user=f"new{n}") for n in range(5)])
    rest: list[str] = []
    cursor = first.next_cursor
    while cursor:
        page = search(tmp_path, 1, start=T0, end=T0 + DAY, limit=4, cursor=cursor)
        rest.extend(event["Event"]["EventData"]["TargetUserName"] for event in page.events)
        cursor = page.next_cursor

    shown = [event["Event"]["EventData"]["TargetUserName"] for event in first.events]
    assert shown == ["old9", "old8", "old7", "old6"]
    assert rest == [f"old{n}" for n in range(5, -1, -1)]


def test_a_forged_cursor_is_refused(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0)])

    with pytest.raises(ValueError, match="cursor"):
        search(tmp_path, 1, start=T0, end=T0 + HOUR, cursor="not-a-cursor")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"start": T0 + HOUR, "end": T0}, "end must be after start"),
        ({"start": T0.replace(tzinfo=None), "end": T0 + HOUR}, "timezone-aware"),
        ({"start": T0, "end": T0 + HOUR, "limit": 0}, "limit"),
        ({"start": T0, "end": T0 + HOUR, "fields": {"a b": "x"}}, "dotted path"),
        ({"start": T0, "end": T0 + HOUR, "fields": {"Image": 3}}, "must be a string"),
        ({"start": T0, "end": T0 + HOUR, "text": ""}, "text"),
    ],
)
def test_bad_search_arguments_get_a_clear_error(tmp_path: Path, arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        search(tmp_path, 1, **arguments)


def test_around_shows_the_host_minutes_either_side(tmp_path: Path) -> None:
    alert = T0 + 30 * MINUTE
    append(
        tmp_path,
        1,
        [
            windows_event(alert - 6 * MINUTE),
            windows_event(alert - 5 * MINUTE),
            windows_event(alert, user="attacker"),
            windows_event(alert + 5 * MINUTE),
            windows_event(alert + 6 * MINUTE),
            windows_event(alert + MINUTE, host="WS-99"),
        ],
    )

    page = around(tmp_path, 1, alert, "ws-01", minutes=5)

    assert times_of(page.events) == [
        (alert + 5 * MINUTE).isoformat(),
        alert.isoformat(),
        (alert - 5 * MINUTE).isoformat(),
    ]
    assert len(around(tmp_path, 1, alert, None, minutes=5).events) == 4


def test_odd_events_are_kept_and_found(tmp_path: Path) -> None:
    huge = "x" * 300_000 + "needle-at-the-end"
    odd = [
        {"message": "no time, no host, no log source"},
        {"_time": "yesterday-ish", "_host": 42, "value": None, "flag": True, "n": 1.5},
        {"_time": T0.isoformat(), "_host": "WS-01", "big": huge},
        {"_time": T0.isoformat(), "_host": "Сервер-1", "user": {"name": "Jürgen 🙂"}},
        {"_time": T0.isoformat(), "_host": "bad", "text": "lone \udcff surrogate", 7: "int key"},
        {"_time": T0.isoformat(), "_logsource": "not a mapping", "list": [{"a": "x"}, "y"]},
    ]

    append(tmp_path, 1, odd, now=T0 + HOUR)

    stored = everything(tmp_path).events
    assert len(stored) == 6
    # An event without a usable time is filed at the time of writing.
    assert {"message": "no time, no host, no log source"} in stored
    assert len(everything(tmp_path, text="needle-at-the-end").events) == 1
    assert everything(tmp_path, host="сервер-1", fields={"user.name": "JÜRGEN 🙂"}).events == [
        odd[3]
    ]
    assert everything(tmp_path, fields={"flag": "TRUE", "n": "1.5"}).events == [odd[1]]
    assert everything(tmp_path, host="42").events == [odd[1]]
    assert len(everything(tmp_path, fields={"list.0.a": "x", "list.1": "y"}).events) == 1
    repaired = everything(tmp_path, host="bad").events
    assert repaired[0]["text"] == "lone \ufffd surrogate"
    assert repaired[0]["7"] == "int key"


def test_a_batch_with_a_bad_event_is_refused_whole(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="event 1 is a str"):
        append(tmp_path, 1, [windows_event(T0), "not an event"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="belongs to tenant 2"):
        append(tmp_path, 1, [windows_event(T0), {**windows_event(T0), "_tenant": 2}])

    assert everything(tmp_path).events == []

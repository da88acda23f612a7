"""The device and field columns (decision 0045): the device that sent an event, searching by
device and within a set of devices, the histogram, field columns that find exactly what the
JSON finds, and archives written before the columns existed (still read, and upgraded by
compaction)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tandem.logs.archive import append, compact, count, histogram, search
from tandem.logs.archive.layout import hour_dir, live_files
from tandem.logs.archive.tests.support import DAY, HOUR, MINUTE, T0, linux_event, windows_event
from tandem.logs.archive.writer import _dump

RANGE = {"start": T0 - DAY, "end": T0 + DAY}


def users(base: Path, **filters) -> list[str]:  # type: ignore[no-untyped-def]
    page = search(base, 1, limit=1000, **RANGE, **filters)
    return [event["Event"]["EventData"]["TargetUserName"] for event in page.events]


def test_the_device_is_kept_and_filters_by_itself_and_by_a_set(tmp_path: Path) -> None:
    append(
        tmp_path,
        1,
        [
            {**windows_event(T0, user="from-7"), "_device": 7},
            {**windows_event(T0 + MINUTE, user="from-8"), "_device": "8"},
            windows_event(T0 + 2 * MINUTE, user="no-device"),
            {**windows_event(T0 + 3 * MINUTE, user="odd-device"), "_device": "../9"},
        ],
    )
    assert users(tmp_path, device=7) == ["from-7"]
    assert users(tmp_path, devices=[8, 7]) == ["from-8", "from-7"]
    # An event with no (or no valid) device is in no set of devices: fail closed.
    assert users(tmp_path, devices=[9]) == []
    assert users(tmp_path, devices=[]) == []
    assert count(tmp_path, 1, devices=[7, 8], **RANGE) == (2, True)
    assert count(tmp_path, 1, devices=[], **RANGE) == (0, True)
    assert len(users(tmp_path)) == 4


def test_the_histogram_counts_matches_per_bucket_with_the_empty_ones(tmp_path: Path) -> None:
    events = [windows_event(T0 + n * 10 * MINUTE, user="a" if n % 2 else "b") for n in range(6)]
    events += [{**windows_event(T0 + 5 * MINUTE, user="a"), "_device": 3}]
    append(tmp_path, 1, events)

    buckets = histogram(tmp_path, 1, start=T0, end=T0 + HOUR, bucket=timedelta(minutes=20))
    assert buckets == [(T0, 3), (T0 + 20 * MINUTE, 2), (T0 + 40 * MINUTE, 2)]
    only_a = histogram(
        tmp_path,
        1,
        start=T0 - HOUR,
        end=T0 + HOUR,
        bucket=HOUR,
        fields={"TargetUserName": "A"},
    )
    assert only_a == [(T0 - HOUR, 0), (T0, 4)]
    scoped = histogram(tmp_path, 1, start=T0, end=T0 + HOUR, bucket=HOUR, devices=[3])
    assert scoped == [(T0, 1)]
    assert histogram(tmp_path, 1, start=T0, end=T0 + HOUR, bucket=HOUR, devices=[]) == [(T0, 0)]
    with pytest.raises(ValueError, match="buckets"):
        histogram(tmp_path, 1, start=T0, end=T0 + 30 * DAY, bucket=MINUTE)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("TargetUserName", "ALICE", ["alice"]),
        ("TargetUserName", "ali*", ["alice"]),
        ("EventID", "4625", ["alice", "bob", "carol"]),
        ("Channel", "security", ["alice", "bob", "carol"]),
        ("user.name", "root", ["bob"]),
        # A bare name is also read at the top level, as the JSON search reads it.
        ("User", "top-level", ["carol"]),
        ("IpAddress", "nobody", []),
    ],
)
def test_a_field_column_finds_what_the_json_finds(
    tmp_path: Path, field: str, value: str, expected: list[str]
) -> None:
    written = [
        windows_event(T0, user="alice"),
        {**windows_event(T0 + MINUTE, user="bob"), "user": {"name": "Root"}},
        {**windows_event(T0 + 2 * MINUTE, user="carol"), "User": "Top-Level"},
    ]
    append(tmp_path, 1, written)
    new_layout = sorted(users(tmp_path, fields={field: value}))
    assert new_layout == expected
    # The same search over a file of the old layout (the JSON only) agrees.
    legacy = tmp_path / "legacy"
    _write_legacy(legacy, written)
    assert sorted(users(legacy, fields={field: value})) == expected


def _write_legacy(base: Path, events: list[dict]) -> Path:  # type: ignore[type-arg]
    """A part file as the archive wrote it before the device and field columns."""
    directory = hour_dir(base, 1, T0)
    directory.mkdir(parents=True)
    moments = [T0 + n * MINUTE for n in range(len(events))]
    table = pa.table(
        {
            "time": pa.array(moments, pa.timestamp("us", tz="UTC")),
            "key": [f"uold.{n:07d}" for n in range(len(events))],
            "host": ["ws-01"] * len(events),
            "product": ["windows"] * len(events),
            "category": [None] * len(events),
            "service": ["security"] * len(events),
            "source": ["agent"] * len(events),
            "received": pa.array(moments, pa.timestamp("us", tz="UTC")),
            "stream_id": [None] * len(events),
            "event": [_dump(event) for event in events],
        }
    )
    path = directory / "part-uold.parquet"
    pq.write_table(table, path)
    return path


def test_an_archive_from_before_the_columns_is_read_and_upgraded(tmp_path: Path) -> None:
    old = [windows_event(T0 + n * MINUTE, user=f"old{n}") for n in range(3)]
    _write_legacy(tmp_path, old)
    append(tmp_path, 1, [{**windows_event(T0 + 30 * MINUTE, user="new"), "_device": 4}])

    assert users(tmp_path) == ["new", "old2", "old1", "old0"]
    assert users(tmp_path, fields={"TargetUserName": "old1"}) == ["old1"]
    # The old file's events have no device: out of every set of devices.
    assert users(tmp_path, devices=[4]) == ["new"]
    assert users(tmp_path, text="OLD2") == ["old2"]

    merged = compact(tmp_path, 1, T0)
    assert merged is not None and live_files(merged.parent) == [merged]
    assert "f_targetusername" in pq.read_schema(merged).names
    assert users(tmp_path) == ["new", "old2", "old1", "old0"]
    assert users(tmp_path, fields={"TargetUserName": "OLD1"}) == ["old1"]
    assert users(tmp_path, device=4) == ["new"]
    assert count(tmp_path, 1, fields={"EventID": "4625"}, **RANGE) == (4, True)


def test_a_page_of_rare_matches_reads_their_events_from_several_files(tmp_path: Path) -> None:
    for hour in range(3):
        append(
            tmp_path,
            1,
            [linux_event(T0 + hour * HOUR + n * MINUTE, message=f"h{hour} n{n}") for n in range(5)],
        )
    page = search(tmp_path, 1, **RANGE, text="n3", limit=2)
    assert [event["message"] for event in page.events] == ["h2 n3", "h1 n3"]
    rest = search(tmp_path, 1, **RANGE, text="n3", limit=2, cursor=page.next_cursor)
    assert [event["message"] for event in rest.events] == ["h0 n3"]

"""Compaction (crash-safe), redelivered batches, retention and tenant isolation."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from tandem.logs.archive import append, compact, compact_tenant, prune, search
from tandem.logs.archive import writer as archive_writer
from tandem.logs.archive.tests.support import DAY, HOUR, MINUTE, T0, windows_event

# The package exports the function ``search``, which hides the module of the same name.
search_module = importlib.import_module("tandem.logs.archive.search")


def users(base: Path, tenant: int | str = 1, **filters) -> list[str]:
    page = search(base, tenant, start=T0 - 30 * DAY, end=T0 + 30 * DAY, limit=1000, **filters)
    return sorted(event["Event"]["EventData"]["TargetUserName"] for event in page.events)


def hour_files(base: Path, tenant: int | str = 1) -> list[str]:
    directory = base / f"tenant={tenant}" / "date=2021-05-04" / "hour=10"
    return sorted(os.listdir(directory))


def three_parts(base: Path) -> list[str]:
    for batch in range(3):
        append(
            base,
            1,
            [windows_event(T0 + (batch * 2 + n) * MINUTE, user=f"b{batch}n{n}") for n in range(2)],
        )
    return [f"b{batch}n{n}" for batch in range(3) for n in range(2)]


def test_compaction_merges_an_hour_into_one_file(tmp_path: Path) -> None:
    expected = three_parts(tmp_path)
    assert len([name for name in hour_files(tmp_path) if name.startswith("part-")]) == 3
    first_page = search(tmp_path, 1, start=T0, end=T0 + HOUR, limit=2)

    merged = compact(tmp_path, 1, T0 + 15 * MINUTE)

    assert merged is not None
    assert [name for name in hour_files(tmp_path) if not name.startswith(".")] == [merged.name]
    assert users(tmp_path) == sorted(expected)
    # A cursor handed out before the compaction still continues where it stopped.
    rest = search(tmp_path, 1, start=T0, end=T0 + HOUR, limit=10, cursor=first_page.next_cursor)
    assert len(first_page.events) + len(rest.events) == 6
    # Nothing left to merge.
    assert compact(tmp_path, 1, T0) is None


def test_a_crash_before_the_rename_leaves_the_parts_readable(tmp_path, monkeypatch) -> None:
    expected = three_parts(tmp_path)

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(archive_writer.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        compact(tmp_path, 1, T0)
    monkeypatch.undo()

    assert users(tmp_path) == sorted(expected)
    assert compact(tmp_path, 1, T0) is not None
    assert users(tmp_path) == sorted(expected)


def test_a_crash_after_the_rename_shows_every_event_once(tmp_path, monkeypatch) -> None:
    expected = three_parts(tmp_path)

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(archive_writer, "_delete_replaced", crash)
    with pytest.raises(KeyboardInterrupt):
        compact(tmp_path, 1, T0)
    monkeypatch.undo()

    # The merged file and all its inputs are on disk; each event is read once.
    names = hour_files(tmp_path)
    assert len([name for name in names if name.startswith("part-")]) == 3
    assert len([name for name in names if name.startswith("compact-")]) == 1
    assert users(tmp_path) == sorted(expected)
    assert users(tmp_path, text="b1n0") == ["b1n0"]

    # A late append and the next compaction: the leftovers go, nothing is doubled.
    append(tmp_path, 1, [windows_event(T0 + 50 * MINUTE, user="late")])
    assert compact(tmp_path, 1, T0) is not None
    assert len([name for name in hour_files(tmp_path) if not name.startswith(".")]) == 1
    assert users(tmp_path) == sorted([*expected, "late"])


def test_a_batch_redelivered_whole_is_stored_once(tmp_path: Path) -> None:
    batch = [{**windows_event(T0 + n * MINUTE, user=f"s{n}"), "_id": f"7-{n}"} for n in range(3)]

    append(tmp_path, 1, batch)
    append(tmp_path, 1, batch)  # the consumer crashed before acknowledging
    assert users(tmp_path) == ["s0", "s1", "s2"]

    compact(tmp_path, 1, T0)
    append(tmp_path, 1, batch)  # redelivered again after the hour was compacted
    assert users(tmp_path) == ["s0", "s1", "s2"]


def test_compact_tenant_leaves_the_current_hour_alone(tmp_path: Path) -> None:
    for moment in (T0, T0, T0 + HOUR, T0 + HOUR):
        append(tmp_path, 1, [windows_event(moment + MINUTE)])

    assert compact_tenant(tmp_path, 1, before=T0 + HOUR + 30 * MINUTE) == 1

    current = tmp_path / "tenant=1" / "date=2021-05-04" / "hour=11"
    assert len([name for name in os.listdir(current) if name.startswith("part-")]) == 2
    assert len(users(tmp_path)) == 4


def test_prune_deletes_whole_hours_past_the_retention(tmp_path: Path) -> None:
    # One event in each of the last 72 hours before T0.
    append(tmp_path, 1, [windows_event(T0 - n * HOUR, user=f"h{n}") for n in range(72)])
    append(tmp_path, 2, [windows_event(T0 - 71 * HOUR, user="other tenant")])

    deleted = prune(tmp_path, 1, keep_days=2, now=T0 + 30 * MINUTE)

    # An hour goes once it ended 2 days before now (T0 - 47h30): h49 ends at T0 - 48h and
    # goes, h48 (T0 - 48h to T0 - 47h) straddles the cutoff and stays.
    assert deleted == 23
    assert users(tmp_path) == sorted(f"h{n}" for n in range(49))
    assert users(tmp_path, 2) == ["other tenant"]
    assert not (tmp_path / "tenant=1" / "date=2021-05-01").exists()
    assert prune(tmp_path, 1, keep_days=2, now=T0 + 30 * MINUTE) == 0


@pytest.mark.parametrize("keep_days", [0, -1, 1.5, True, 100_000])
def test_prune_refuses_a_senseless_retention(tmp_path: Path, keep_days) -> None:
    append(tmp_path, 1, [windows_event(T0 - 10 * DAY)])

    with pytest.raises(ValueError, match="keep_days"):
        prune(tmp_path, 1, keep_days=keep_days, now=T0)
    assert len(users(tmp_path)) == 1


CRAFTED = ["'", "' OR 1=1 --", "../tenant=2", "..", "*", "%", "b'); DROP TABLE x; --"]


@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_search_never_returns_another_tenants_events(tmp_path: Path, crafted: str) -> None:
    append(tmp_path, 1, [windows_event(T0, user="mine", Image=crafted)])
    append(tmp_path, 2, [windows_event(T0, user=crafted), windows_event(T0, user="theirs")])

    for filters in (
        {},
        {"host": crafted},
        {"fields": {"TargetUserName": crafted}},
        {"fields": {"TargetUserName": "*"}},
        {"text": crafted},
        {"text": "theirs"},
    ):
        found = users(tmp_path, 1, **filters)
        assert set(found) <= {"mine"}, (filters, found)
    assert users(tmp_path, 1, fields={"Image": crafted}) == ["mine"]


@pytest.mark.parametrize("tenant", ["../2", "2/..", "..", "", "a b", "x" * 65, None, 1.0])
def test_an_unsafe_tenant_id_is_refused(tmp_path: Path, tenant) -> None:
    with pytest.raises(ValueError, match="tenant id"):
        append(tmp_path, tenant, [windows_event(T0)])
    with pytest.raises(ValueError, match="tenant id"):
        search(tmp_path, tenant, start=T0, end=T0 + HOUR)
    assert list(tmp_path.iterdir()) == []


def test_a_search_lists_again_when_a_file_vanishes(tmp_path, monkeypatch) -> None:
    three_parts(tmp_path)
    real_live_files = archive_writer.live_files
    calls = {"count": 0}

    def listing_then_compaction(directory):
        listed = real_live_files(directory)
        calls["count"] += 1
        if calls["count"] == 1:
            compact(tmp_path, 1, T0)  # deletes the listed parts before DuckDB opens them
        return listed

    monkeypatch.setattr(search_module, "live_files", listing_then_compaction)

    assert len(users(tmp_path)) == 6
    assert calls["count"] >= 2

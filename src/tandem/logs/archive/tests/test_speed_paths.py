"""The archive's cheaper paths (decision 0045, amendment of 2026-12-06): field columns built
a batch at a time that still find exactly what the JSON finds, case-mapped as DuckDB maps
case; and the trigram index that lets free text skip compacted files without ever missing
an event that holds the text."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tandem.logs.archive import append, compact, count, search
from tandem.logs.archive.fields import field_values
from tandem.logs.archive.layout import hour_dir, live_files
from tandem.logs.archive.tests.support import DAY, MINUTE, T0, linux_event, windows_event
from tandem.logs.archive.trigrams import TRIGRAMS_KEY, may_hold, needle

RANGE = {"start": T0 - DAY, "end": T0 + DAY}


def messages(base: Path, **filters) -> list[str]:  # type: ignore[no-untyped-def]
    page = search(base, 1, limit=1000, **RANGE, **filters)
    return sorted(event["message"] for event in page.events)


# --- field columns -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ΟΔΟΣ", "İstanbul", "STRASSE", "Ǆemal"])
def test_a_value_with_special_case_rules_finds_itself_in_the_column_and_the_json(
    tmp_path: Path, value: str
) -> None:
    """Python lowers a final sigma and a dotted capital I unlike DuckDB; the column and the
    search's value are both lowered as DuckDB lowers, so a user searching for the value as
    shown finds the event, in a new file and in a file of the old layout alike."""
    append(tmp_path, 1, [windows_event(T0, user=value), windows_event(T0 + MINUTE, user="x")])
    found = search(tmp_path, 1, **RANGE, fields={"TargetUserName": value})
    assert [e["Event"]["EventData"]["TargetUserName"] for e in found.events] == [value]
    # The same search read through the JSON only (another spelling of the field).
    spelled = search(tmp_path, 1, **RANGE, fields={"Event.EventData.TargetUserName": value})
    assert len(spelled.events) == 1


def test_field_columns_hold_every_value_in_the_json_order() -> None:
    event = {
        "Event": {
            "EventData": {"User": "CORP\\Bob", "Image": None, "EventID": 7},
            "System": {"EventID": 4688, "Channel": "Security"},
        },
        "User": "TOP",
        "EventID": {"Nested": True},
        "process": {"name": "SSHD", "pid": 3},
        "user": ["not", "an", "object"],
        "source": {"ip": 167772161},
    }
    assert field_values(event) == {
        "f_eventid": ["7", "4688", '{"nested":true}'],
        "f_channel": ["security"],
        "f_user": ["corp\\bob", "top"],
        "f_process_name": ["sshd"],
        "f_source_ip": ["167772161"],
    }


def test_a_lone_surrogate_in_a_field_is_kept_as_the_json_keeps_it(tmp_path: Path) -> None:
    append(tmp_path, 1, [windows_event(T0, user="bad\udcffname")])
    found = search(tmp_path, 1, **RANGE, fields={"TargetUserName": "bad\ufffdname"})
    assert len(found.events) == 1


# --- the trigram index ----------------------------------------------------------------------


def test_re2_folds_only_two_non_ascii_letters_onto_ascii() -> None:
    """The index folds KELVIN SIGN and LONG S onto k and s: they must be the only code points
    that the search's case-insensitive regular expression matches to an ASCII letter."""
    found = (
        duckdb.connect()
        .execute(
            "SELECT list(i ORDER BY i) FROM range(128, 1114112) t(i) "
            "WHERE (i < 55296 OR i > 57343) AND regexp_matches(chr(i::INTEGER), '(?i)^[a-z]$')"
        )
        .fetchall()[0][0]
    )
    assert found == [0x017F, 0x212A]


def test_a_compacted_hour_is_skipped_by_text_it_cannot_hold(tmp_path: Path) -> None:
    events = [
        linux_event(T0 + n * MINUTE, message=f"Accepted key for user{n:03d}") for n in range(40)
    ]
    append(tmp_path, 1, events[:20])
    append(tmp_path, 1, events[20:])
    merged = compact(tmp_path, 1, T0)
    assert merged is not None and TRIGRAMS_KEY in (pq.read_schema(merged).metadata or {})
    assert not may_hold(merged, needle("mimikatz"))
    assert may_hold(merged, needle("USER007"))
    # What a user sees: the search still finds the text in any case, and finds no other.
    assert messages(tmp_path, text="USER007") == ["Accepted key for user007"]
    assert messages(tmp_path, text="mimikatz") == []
    assert messages(tmp_path, text="r007") == ["Accepted key for user007"]
    assert messages(tmp_path, text="007") == ["Accepted key for user007"]
    assert count(tmp_path, 1, **RANGE, text="ACCEPTED KEY") == (40, True)
    # A needle too short for a trigram reads the file.
    assert may_hold(merged, needle("zq"))


_ALPHABET = 'aAbBkKsSσςΣ\u212a\u017fİi"\\/ -.:1é\n\t0[%_*'


@pytest.mark.parametrize("seed", range(6))
def test_text_search_with_the_index_finds_what_a_full_scan_finds(tmp_path: Path, seed: int) -> None:
    """Random texts over letters that fold in odd ways (Kelvin sign, long s, sigmas, dotted
    I), quotes, backslashes and control characters: every needle finds the same events in
    the compacted, indexed hour as in the same parts read whole."""
    rng = random.Random(seed)
    texts = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(60)]
    events = [linux_event(T0 + n * MINUTE, message=text) for n, text in enumerate(texts)]
    plain = tmp_path / "plain"
    append(plain, 1, events[:30])
    append(plain, 1, events[30:])
    indexed = tmp_path / "indexed"
    shutil.copytree(plain, indexed)
    assert compact(indexed, 1, T0) is not None
    (merged,) = live_files(hour_dir(indexed, 1, T0))
    assert TRIGRAMS_KEY in (pq.read_schema(merged).metadata or {})
    needles = [text[i : i + rng.randint(1, 6)] for text in texts for i in range(0, len(text), 3)]
    needles += ["".join(rng.choice(_ALPHABET) for _ in range(4)) for _ in range(40)]
    for text in {n for n in needles if n}:
        assert messages(indexed, text=text) == messages(plain, text=text), text

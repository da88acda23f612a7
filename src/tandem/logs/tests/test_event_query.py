"""The event search's query parser (decision 0045), pure: whatever an analyst or a crafted
request sends, the answer is a search the archive can run or a refusal naming the bad
parameter, never a crash; a search always has ``start < end`` within 31 days."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.core.errors import InvalidInput
from tandem.logs.event_query import MAX_RANGE_DAYS, parse_event_query

NOW = dt.datetime.now(dt.UTC)
text = st.text(max_size=30)
maybe = st.none() | text


@settings(max_examples=400, deadline=None)
@given(
    range_=st.none() | st.sampled_from(["15m", "1h", "24h", "7d", "custom"]) | text,
    start=maybe | st.sampled_from(["0001-01-01T00:00", "9999-12-31T23:59:59+14:00", "2026-01-01"]),
    end=maybe | st.sampled_from(["0001-01-01T00:30", "2026-01-02T00:00"]),
    tz=maybe | st.sampled_from(["Asia/Tokyo", "Pacific/Kiritimati", "../../etc/passwd"]),
    host=maybe,
    fields=st.lists(text, max_size=4),
    free=maybe,
    cursor=maybe,
    limit=st.none() | st.integers(-5, 600) | text,
)
def test_any_parameters_give_a_search_or_a_named_refusal(
    range_, start, end, tz, host, fields, free, cursor, limit
) -> None:
    try:
        query = parse_event_query(
            now=NOW,
            default_zone="Europe/Berlin",
            range_=range_,
            start=start,
            end=end,
            tz=tz,
            host=host,
            fields=fields,
            text=free,
            cursor=cursor,
            limit=limit,
        )
    except InvalidInput as refused:
        assert refused.field_errors and all(refused.field_errors.values())
        return
    assert query.start < query.end
    assert query.end - query.start <= dt.timedelta(days=MAX_RANGE_DAYS)
    assert 1 <= query.limit <= 500


def test_presets_end_now_and_a_lone_to_looks_an_hour_back() -> None:
    query = parse_event_query(now=NOW, default_zone="UTC", range_="24h")
    assert (query.start, query.end) == (NOW - dt.timedelta(hours=24), NOW)
    to = (NOW - dt.timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    query = parse_event_query(now=NOW, default_zone="UTC", end=to.isoformat())
    assert query.preset == "custom"
    assert query.end - query.start == dt.timedelta(hours=1)

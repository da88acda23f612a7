"""The logs API's bodies and answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input


class IngestSourceIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(http|syslog)$")
    #: A syslog source that is one device (a firewall, a server): its events are recorded
    #: as that device's, so a provider engaged for its site reads them.
    device_id: Id | None = None
    allowed_networks: list[str] = Field(default_factory=list, max_length=100)
    max_events_per_minute: int | None = Field(None, ge=1, le=1_000_000_000)
    max_batch_events: int = Field(10_000, ge=1, le=100_000)


class IngestSourceDeviceIn(Input):
    """The device a syslog source is (a device of its tenant), or null for none. Events
    already archived keep the device they were recorded with."""

    device_id: Id | None


class RefusedCounts(Schema):
    malformed_json: int
    invalid_utf8: int
    oversized_line: int
    broken_gzip: int
    quota: int


class IngestSourceOut(Schema):
    id: int
    tenant_id: int
    name: str
    kind: str
    device_id: int | None
    prefix: str
    allowed_networks: list[str]
    max_events_per_minute: int | None
    max_batch_events: int
    enabled: bool
    accepted: int
    refused: RefusedCounts = Field(alias="refused_counts")
    last_event_at: dt.datetime | None
    created_at: dt.datetime


class IngestSourceWithToken(IngestSourceOut):
    #: The ingest token, in this answer only: the server keeps its hash. None for syslog.
    token: str | None


class EventSearchQuery(Schema):
    """The event search's parameters (``tandem.logs.event_query``): a preset range or
    ``from``/``to`` (ISO 8601; without an offset, read in ``tz``), host, ``field``
    (repeated, ``name=value``), text, and the ``cursor`` of a previous answer."""

    range: str | None = Field(None, max_length=10, description="15m, 1h, 24h, 7d or custom")
    from_: str | None = Field(None, alias="from", max_length=40)
    to: str | None = Field(None, max_length=40)
    tz: str | None = Field(None, max_length=64, description="IANA zone of from/to (default UTC)")
    host: str | None = Field(None, max_length=300)
    field: list[str] = Field(default_factory=list, description="name=value, all must hold")
    text: str | None = Field(None, max_length=1100)
    cursor: str | None = Field(None, max_length=400)
    limit: int = Field(100, ge=1, le=500)
    device: Id | None = Field(None, description="only the events this device sent")
    #: Count the matches per bucket of time over the range (the bucket chosen from the
    #: range: 1 minute for an hour, 30 minutes for a day); reads every match of the range.
    histogram: bool = False
    #: Count every match (up to 10,000); false answers faster when there are many
    #: (``count`` is then null unless this page holds them all).
    count: bool = True


class ArchivedEventOut(Schema):
    time: dt.datetime
    host: str
    #: The device that sent it (a device credential, or a syslog source mapped to a
    #: device); null when not recorded.
    device_id: int | None
    summary: str
    event: dict[str, Any]


class HistogramBucketOut(Schema):
    start: dt.datetime
    count: int


class HistogramOut(Schema):
    bucket_seconds: int
    #: Every bucket of the range, oldest first, zeros included; the sum is the exact count.
    buckets: list[HistogramBucketOut]


class EventSearchOut(Schema):
    tenant_id: int
    start: dt.datetime
    end: dt.datetime
    #: Matches in the range, counted up to 10,000 (``count_exact`` false beyond); null
    #: when ``count=false`` and there are more than this page.
    count: int | None
    count_exact: bool
    #: Pass it as ``cursor`` (with the same filters) for the next, older page; None: last.
    next_cursor: str | None
    events: list[ArchivedEventOut]
    #: With ``histogram=true``, else null.
    histogram: HistogramOut | None = None


class ArchiveSettingsIn(Input):
    retention_days: int = Field(ge=1, le=3650)


class ArchiveSettingsOut(Schema):
    tenant_id: int
    retention_days: int

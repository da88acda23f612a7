"""The logs API's bodies and answers."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input


class IngestSourceIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(http|syslog)$")
    allowed_networks: list[str] = Field(default_factory=list, max_length=100)
    max_events_per_minute: int | None = Field(None, ge=1, le=1_000_000_000)
    max_batch_events: int = Field(10_000, ge=1, le=100_000)


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

"""API shapes for the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import FilterLookup, FilterSchema, Schema
from pydantic import Field

from tandem.core.api import Id, Moment


class AuditEntryOut(Schema):
    id: int
    seq: int
    tenant_id: int | None
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    party_id: int | None
    provider_id: int | None
    action: str
    target_type: str
    target_id: str
    target_label: str
    changes: dict[str, Any]
    request_id: str
    entry_hash: str


class AuditFilter(FilterSchema):
    tenant_id: Id | None = None
    instance_level: Annotated[
        bool | None,
        FilterLookup("tenant__isnull"),
        Field(
            description="true: only entries that belong to no tenant (people, second "
            "factors, password resets, provider staff and their tokens)."
        ),
    ] = None
    party_id: Id | None = None
    actor_id: Id | None = None
    action: str | None = Field(default=None, max_length=80)
    target_type: str | None = Field(default=None, max_length=80)
    since: Annotated[Moment | None, FilterLookup("created_at__gte")] = None
    until: Annotated[Moment | None, FilterLookup("created_at__lt")] = None


class ChainStateOut(Schema):
    tenant_id: int
    ok: bool
    entries_checked: int
    first_bad_seq: int | None
    problem: str | None

"""API shapes of alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input, Moment


class AlertOut(Schema):
    id: int
    tenant_id: int
    rule_id: str
    rule_title: str
    level: str
    severity: str
    tactics: list[str]
    techniques: list[str]
    tags: list[str]
    host: str
    device_id: int | None
    key_fields: dict[str, str]
    first_seen: dt.datetime
    last_seen: dt.datetime
    event_count: int
    raised_at: dt.datetime
    status: str
    acknowledged_at: dt.datetime | None
    acknowledged_by_id: int | None
    closed_at: dt.datetime | None
    closed_by_id: int | None
    closed_label: str
    reason: str
    ticket_id: int | None


class AlertEventOut(Schema):
    ordinal: int
    at: dt.datetime
    event: dict[str, Any]


class AlertDetailOut(AlertOut):
    #: The alert's sample: its first and latest events (``event_count`` says how many).
    events: list[AlertEventOut]

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.order_by("ordinal"))


class AlertQuery(Schema):
    status: str = Field(
        "", max_length=20, description="new, acknowledged, false_positive, resolved or open"
    )
    severity: str = Field("", max_length=20)
    tenant_id: Id | None = None
    rule_id: str = Field("", max_length=200)


class ResolveIn(Input):
    note: str = Field("", max_length=2000)
    resolve_ticket: bool = False


class FalsePositiveIn(Input):
    reason: str = Field(max_length=2000)
    resolve_ticket: bool = True


class SuppressionIn(Input):
    """Detections matching every given criterion (at least one) are counted, not alerted,
    until ``expires_at`` (at most 90 days ahead)."""

    rule_id: str = Field("", max_length=200)
    host: str = Field("", max_length=255)
    key_fields: dict[str, str] = Field(default_factory=dict)
    reason: str = Field(max_length=2000)
    expires_at: Moment


class SuppressionOut(Schema):
    id: int
    tenant_id: int
    rule_id: str
    host: str
    key_fields: dict[str, str]
    reason: str
    expires_at: dt.datetime
    created_at: dt.datetime
    created_by_id: int | None
    created_label: str
    lifted_at: dt.datetime | None
    lifted_by_id: int | None
    suppressed_count: int
    last_suppressed_at: dt.datetime | None


class AlertSettingsIn(Input):
    dedup_window_minutes: int = Field(ge=1, le=1440)


class AlertSettingsOut(Schema):
    tenant_id: int
    dedup_window_minutes: int

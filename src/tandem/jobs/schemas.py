"""API shapes of jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input, Moment


class JobIn(Input):
    """A job to request on a device. ``parameters`` by kind: ``run_script``
    ``{script, interpreter: sh|bash, timeout_seconds}``; ``install_updates``
    ``{packages: [names] | "all" | "security"}``; ``reboot`` ``{delay_minutes}``.
    The window defaults to now and 24 hours."""

    kind: Literal["run_script", "install_updates", "reboot"]
    parameters: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field(max_length=500)
    not_before: Moment | None = None
    not_after: Moment | None = None


class ReasonIn(Input):
    reason: str = Field(max_length=500)


class NoteIn(Input):
    note: str = Field("", max_length=500)


class JobTransitionOut(Schema):
    from_state: str
    to_state: str
    at: dt.datetime
    actor_label: str
    note: str


class JobOut(Schema):
    id: int
    tenant_id: int
    device_id: int
    kind: str
    parameters: dict[str, Any]
    state: str
    reason: str
    origin: str
    requested_by_label: str
    requested_by_party_id: int | None
    approval_required: bool
    approver_party_id: int | None
    approver_reason: str
    approved_by_label: str
    approved_by_party_id: int | None
    approved_at: dt.datetime | None
    not_before: dt.datetime
    not_after: dt.datetime
    dispatched_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    exit_code: int | None
    output: str
    output_truncated: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class JobDetailOut(JobOut):
    history: list[JobTransitionOut]

    @staticmethod
    def resolve_history(obj: Any) -> list[Any]:
        return list(obj.transitions.order_by("at", "id"))


class JobQuery(Schema):
    state: (
        Literal[
            "requested",
            "awaiting_approval",
            "approved",
            "scheduled",
            "running",
            "succeeded",
            "failed",
            "expired",
            "cancelled",
            "rejected",
        ]
        | None
    ) = None
    device_id: Id | None = None
    tenant_id: Id | None = None

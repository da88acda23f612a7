"""API shapes of the queue."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from tandem.core.api import (
    Id,
    Input,
)
from tandem.servicedesk.queues import services


class QueueFilter(Schema):
    """The queue's filters; with ``view_id``, a saved view's filters fill the ones not given."""

    view_id: Id | None = None
    scope: Literal["all", "mine", "my_parties"] | None = None
    tenant_id: Id | None = None
    status: str | None = Field(
        default=None,
        max_length=40,
        description=(
            "A status key of the tickets' workflow, or `is:open` (any status not of kind "
            "resolved or closed, in each tenant's own workflow) or `is:done` (resolved or "
            "closed)."
        ),
    )
    priority: int | None = Field(default=None, ge=1, le=9)
    party_id: Id | None = None
    assignee_id: Id | None = None
    service_area_id: Id | None = None
    sla: Literal["breached", "due_soon", "on_time"] | None = None
    q: str | None = Field(default=None, max_length=200)


class SavedViewIn(Input):
    name: str = Field(min_length=1, max_length=100)
    filters: dict[str, Any] = Field(default_factory=dict)


class SavedViewOut(Schema):
    id: int
    name: str
    filters: dict[str, Any]
    created_at: Any


class BulkIn(Input):
    ticket_ids: list[Id] = Field(min_length=1, max_length=services.MAX_BULK_TICKETS)
    action: Literal["assign", "status", "priority"]
    #: ``assign``: the person (null: nobody).
    assignee_id: Id | None = None
    #: ``status``: the status key of the tickets' workflow.
    status: str | None = Field(default=None, max_length=40)
    #: ``priority``: new impact and/or urgency; the priority follows the tenant's matrix.
    impact: int | None = Field(default=None, ge=1, le=9)
    urgency: int | None = Field(default=None, ge=1, le=9)


class BulkOut(Schema):
    updated: int
    ticket_ids: list[int]

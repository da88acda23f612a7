"""API shapes of tickets, notes, events, time entries and files."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import FilterLookup, FilterSchema, Schema
from pydantic import Field, RootModel

from tandem.core.api import (
    Id,
    Input,
    RequesterShape,
    by_audience,
    reader_id,
)
from tandem.servicedesk.tickets.queries import author_for_requester


class TicketOut(Schema):
    """A ticket as the people who work in its tenant for a party (its IT, a provider) see
    it. Its requester gets RequesterTicketOut instead (TicketView)."""

    id: int
    tenant_id: int
    number: int
    subject: str
    description: str
    status: str
    impact: int
    urgency: int
    priority: int
    requester_id: int
    party_id: int
    party_name: str
    assignee_id: int | None
    category_id: int | None
    service_area_id: int | None
    site_id: int | None
    asset_group_id: int | None
    tags: list[str]
    via: str
    #: How the requester reached IT: phone, walk-in, chat, email or portal.
    source: str
    routing_reason: str
    first_response_due: dt.datetime | None
    next_update_due: dt.datetime | None
    resolution_due: dt.datetime | None
    sla_state: dict[str, Any]
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    @staticmethod
    def resolve_party_name(obj: Any) -> str:
        return obj.party.name  # type: ignore[no-any-return]


class RequesterTicketOut(RequesterShape):
    """A ticket as its requester sees it on the portal and the requester's ticket pages:
    what they asked, its state and priority, when it was opened and resolved. Never who
    holds it or why, whom it is assigned to, its tags, category, area or clocks."""

    id: int
    tenant_id: int
    number: int
    subject: str
    description: str
    status: str
    priority: int
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class TicketView(
    RootModel[by_audience(it=TicketOut, requester=RequesterTicketOut)]  # type: ignore[misc]
):
    """A ticket in the shape its reader may see: TicketOut for the people who work in its
    tenant for a party (the tenant's IT, a provider), RequesterTicketOut for anyone else
    (its requester), as the requester's pages show it."""


class CallerIn(Input):
    """Someone not yet among the tenant's people, added as a requester on the spot."""

    full_name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)


class TicketIn(Input):
    """A new ticket. The tenant's people open their own; IT people may log one for a
    caller instead (``requester_id`` or ``requester``, with ``source``, and optionally
    ``party_id`` and ``assignee_id``), which requesters may not."""

    tenant_id: Id
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=50_000)
    category_id: Id | None = None
    service_area_id: Id | None = None
    impact: int = Field(default=3, ge=1, le=9)
    urgency: int = Field(default=3, ge=1, le=9)
    site_id: Id | None = None
    asset_group_id: Id | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    #: The tenant's devices it is about, each one the caller sees (decision 0026).
    device_ids: list[Id] = Field(default_factory=list, max_length=50)
    #: IT only: the caller, one of the tenant's people...
    requester_id: Id | None = None
    #: ...or someone new, who becomes a requester of the tenant.
    requester: CallerIn | None = None
    #: IT only: how the caller reached IT.
    source: Literal["phone", "walk-in", "chat", "email", "portal"] | None = None
    #: IT only: who takes the ticket instead of the matrix's choice (a party, a person).
    party_id: Id | None = None
    assignee_id: Id | None = None

    def logs_for_caller(self) -> bool:
        """True when the body sets anything only IT may set."""
        return any(
            value is not None
            for value in (
                self.requester_id,
                self.requester,
                self.source,
                self.party_id,
                self.assignee_id,
            )
        )


class TicketFilter(FilterSchema):
    tenant_id: Id | None = None
    status: str | None = Field(default=None, max_length=40)
    priority: int | None = Field(default=None, ge=1, le=9)
    party_id: Id | None = None
    assignee_id: Id | None = None
    service_area_id: Id | None = None
    q: Annotated[str | None, FilterLookup(["subject__icontains", "description__icontains"])] = (
        Field(default=None, max_length=100)
    )


class StatusIn(Input):
    status: str = Field(min_length=1, max_length=40)


class PriorityIn(Input):
    impact: int | None = Field(default=None, ge=1, le=9)
    urgency: int | None = Field(default=None, ge=1, le=9)
    category_id: Id | None = None


class HandoffIn(Input):
    to_party_id: Id
    reason: str = Field(min_length=1, max_length=500)


class AssignIn(Input):
    assignee_id: Id | None


class CommentIn(Input):
    body: str = Field(min_length=1, max_length=50_000)
    visibility: str = Field(default="shared", pattern="^(private|shared|public)$")


class CommentOut(Schema):
    """A note as the people who work in its tenant for a party see it."""

    id: int
    author_label: str
    party_id: int | None
    visibility: str
    body: str
    via: str
    created_at: dt.datetime


class RequesterCommentOut(RequesterShape):
    """A public note as the requester's portal shows it: its author is "You", "IT" for
    anyone who wrote for a party (never a name, an address or a party), or the name an
    e-mail reply came with."""

    id: int
    author_label: str
    body: str
    created_at: dt.datetime

    @staticmethod
    def resolve_author_label(obj: Any, context: Any) -> str:
        return author_for_requester(obj, reader_id(context))


class CommentView(
    RootModel[by_audience(it=CommentOut, requester=RequesterCommentOut)]  # type: ignore[misc]
):
    """A note in the shape its reader may see: CommentOut for the people who work in its
    tenant for a party, RequesterCommentOut for anyone else (its requester)."""


class EventOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    status: str
    party_id: int
    priority: int
    actor_label: str
    detail: dict[str, Any]


class TimeIn(Input):
    minutes: int = Field(ge=1, le=1440)
    work_date: dt.date | None = None
    service_area_id: Id | None = None
    billable: bool = True
    note: str = Field(default="", max_length=500)


class TimeOut(Schema):
    id: int
    user_id: int
    party_id: int
    service_area_id: int
    work_date: dt.date
    minutes: int
    billable: bool
    note: str


class AttachmentOut(Schema):
    """A file as the people who work in its tenant for a party see it."""

    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    visibility: str
    party_id: int | None
    created_at: dt.datetime


class RequesterAttachmentOut(RequesterShape):
    """A public file as the requester's portal lists it: never whose party attached it."""

    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime


class AttachmentView(
    RootModel[by_audience(it=AttachmentOut, requester=RequesterAttachmentOut)]  # type: ignore[misc]
):
    """A file in the shape its reader may see: AttachmentOut for the people who work in its
    tenant for a party, RequesterAttachmentOut for anyone else (its requester)."""


class MergeIn(Schema):
    into_id: Id


class ParentIn(Schema):
    parent_id: Id | None = None


class TagsIn(Schema):
    tags: list[str] = Field(default_factory=list, max_length=100)


class TicketDevicesIn(Input):
    """The devices the ticket names, of those the caller sees (the others stay)."""

    device_ids: list[Id] = Field(max_length=50)


class TicketDeviceOut(Schema):
    """A device a ticket names, as far as the reader may see it."""

    id: int
    name: str
    hostname: str
    status: str


class DeviceTicketOut(Schema):
    """A ticket naming a device, as the device's page lists it."""

    id: int
    tenant_id: int
    number: int
    subject: str
    status: str
    created_at: dt.datetime


class WatchOut(Schema):
    ticket_id: int
    watching: bool

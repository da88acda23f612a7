"""API shapes for the service desk."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import FilterLookup, FilterSchema, Schema
from pydantic import Field, RootModel

from tandem.core.api import Count, Id, Input, RequesterShape, by_audience, reader_id
from tandem.servicedesk.choices import MAX_REOPEN_DAYS
from tandem.servicedesk.queries import author_for_requester


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


class MatrixRowIn(Input):
    tenant_id: Id
    service_area_id: Id
    responsible_id: Id
    accountable_id: Id
    site_id: Id | None = None
    asset_group_id: Id | None = None
    consulted_ids: list[Id] = Field(default_factory=list, max_length=50)
    informed_ids: list[Id] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=500)


class MatrixRowOut(Schema):
    id: int
    service_area_id: int
    site_id: int | None
    asset_group_id: int | None
    responsible_id: int
    accountable_id: int
    consulted_ids: list[int]
    informed_ids: list[int]
    note: str

    @staticmethod
    def resolve_consulted_ids(obj: Any) -> list[int]:
        return sorted(p.pk for p in obj.consulted.all())

    @staticmethod
    def resolve_informed_ids(obj: Any) -> list[int]:
        return sorted(p.pk for p in obj.informed.all())


class CoverageOut(Schema):
    id: int
    party_id: int
    calendar_id: int
    service_area_id: int | None
    max_priority: int


class FindingOut(Schema):
    kind: str
    message: str
    service_area_id: int | None
    priority: int | None
    windows: list[list[str]]


class MatrixOut(Schema):
    tenant_id: int
    version: int
    rows: list[MatrixRowOut]
    coverage: list[CoverageOut]
    findings: list[FindingOut]


class CalendarIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=120)
    time_zone: str = Field(min_length=1, max_length=64)
    weekly: dict[str, list[list[str]]]
    holiday_country: str = Field(default="", max_length=2)
    holiday_subdivision: str = Field(default="", max_length=10)
    custom_holidays: list[str] = Field(default_factory=list, max_length=400)
    special_days: dict[str, list[list[str]]] = Field(default_factory=dict)


class CalendarOut(Schema):
    id: int
    tenant_id: int
    name: str
    time_zone: str
    weekly: dict[str, Any]
    holiday_country: str
    holiday_subdivision: str
    custom_holidays: list[str]
    special_days: dict[str, Any]


class SlaPolicyIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=120)
    party_id: Id
    calendar_id: Id
    targets: dict[str, dict[str, Count]]
    pause_statuses: dict[str, list[str]] = Field(default_factory=dict)
    warn_at_percent: int = Field(default=80, ge=1, le=99)


class SlaPolicyOut(Schema):
    id: int
    tenant_id: int
    name: str
    party_id: int
    calendar_id: int
    targets: dict[str, Any]
    pause_statuses: dict[str, Any]
    warn_at_percent: int
    is_active: bool


class CoverageIn(Input):
    tenant_id: Id
    party_id: Id
    calendar_id: Id
    service_area_id: Id | None = None
    max_priority: int = Field(default=5, ge=1, le=9)


# --- Desk configuration edits (api_config.py) ---------------------------------------------------
# PATCH bodies: a field left out stays as it is. (Appended as a block, with its own import.)


class CalendarPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    weekly: dict[str, list[list[str]]] | None = None
    holiday_country: str | None = Field(default=None, max_length=2)
    holiday_subdivision: str | None = Field(default=None, max_length=10)
    custom_holidays: list[str] | None = Field(default=None, max_length=400)
    special_days: dict[str, list[list[str]]] | None = None


class SlaPolicyPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    calendar_id: Id | None = None
    targets: dict[str, dict[str, Count]] | None = None
    pause_statuses: dict[str, list[str]] | None = None
    warn_at_percent: int | None = Field(default=None, ge=1, le=99)


class CoveragePatch(Input):
    calendar_id: Id | None = None
    #: ``null``: every service area; left out: unchanged.
    service_area_id: Id | None = None
    max_priority: int | None = Field(default=None, ge=1, le=9)


class QuestionIn(Input):
    """One extra question the portal asks for a category."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=120)
    type: Literal["text", "textarea", "choice"] = "text"
    choices: list[str] = Field(default_factory=list, max_length=50)
    required: bool = True


class CategoryIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=120)
    service_area_id: Id
    description: str = Field(default="", max_length=2000)
    form_fields: list[QuestionIn] = Field(default_factory=list, max_length=20)


class CategoryPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    service_area_id: Id | None = None
    description: str | None = Field(default=None, max_length=2000)
    form_fields: list[QuestionIn] | None = Field(default=None, max_length=20)


class CategoryOut(Schema):
    id: int
    tenant_id: int
    name: str
    service_area_id: int
    description: str
    form_fields: list[dict[str, Any]]
    is_active: bool


class PriorityMatrixIn(Input):
    """Impact x urgency -> priority. Every list is ordered most severe first; ``grid`` has
    one row per urgency and one cell (a priority label) per impact."""

    impacts: list[str] = Field(min_length=3, max_length=9)
    urgencies: list[str] = Field(min_length=3, max_length=9)
    priorities: list[str] = Field(min_length=1, max_length=9)
    grid: list[list[str]] = Field(max_length=9)


class PriorityMatrixOut(Schema):
    tenant_id: int
    impacts: list[str]
    urgencies: list[str]
    priorities: list[str]
    grid: list[list[str]]


class WorkflowStatus(Schema):
    key: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["new", "open", "waiting", "resolved", "closed"]


class WorkflowStatusIn(Input, WorkflowStatus):
    pass


class StatusesIn(Input):
    """The whole workflow in display order; the first status is where new tickets start."""

    statuses: list[WorkflowStatusIn] = Field(min_length=3, max_length=20)


class WorkflowStatusOut(WorkflowStatus):
    #: Some ticket has had this status (now or in its history): the key is permanent.
    used: bool


class StatusesOut(Schema):
    tenant_id: int
    statuses: list[WorkflowStatusOut]


class DeskThresholdsIn(Input):
    #: Priorities 1..this are urgent: routed to whoever is on duty out of hours.
    urgent_priority_max: int = Field(ge=1, le=9)
    #: A handoff back within this many minutes counts as ping-pong (at most 30 days).
    ping_pong_minutes: int = Field(ge=1, le=43200)
    #: A requester's reply within this many days of the resolution reopens the ticket, a
    #: later one opens a linked follow-up (0: always a follow-up). Unchanged when left out.
    reopen_days: int | None = Field(default=None, ge=0, le=MAX_REOPEN_DAYS)


class DeskThresholdsOut(Schema):
    tenant_id: int
    urgent_priority_max: int
    ping_pong_minutes: int
    reopen_days: int


class MailSendersIn(Input):
    #: members: members only; domains: also anyone from ``mail_domains``; anyone: anyone.
    #: Whoever is not a member and is let in becomes a requester on first mail.
    sender_policy: Literal["members", "domains", "anyone"]
    #: The tenant's own mail domains (at most 50); the ``domains`` policy needs one.
    mail_domains: list[Annotated[str, Field(max_length=253)]] = Field(default=[], max_length=50)


class MailSendersOut(Schema):
    tenant_id: int
    sender_policy: str
    mail_domains: list[str]


# --- Canned replies -------------------------------------------------------------------------------


class CannedReplyIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=10_000)
    #: The tenant's (read by its IT and every engaged provider), not your party's own.
    shared: bool = False


class CannedReplyPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    body: str | None = Field(default=None, min_length=1, max_length=10_000)


class CannedReplyOut(Schema):
    id: int
    tenant_id: int
    #: The party whose own reply it is; null for the tenant's.
    party_id: int | None
    name: str
    body: str

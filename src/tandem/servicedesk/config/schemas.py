"""API shapes of the desk configuration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from tandem.core.api import Count, Id, Input
from tandem.servicedesk.choices import MAX_REOPEN_DAYS


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


# --- Desk configuration edits ----------------------------------------------------------------
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

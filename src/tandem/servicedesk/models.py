"""The index of the desk's models, which Django loads as ``servicedesk.models``: each
aggregate keeps its own (``tickets``, ``queues``, ``mail``, ``config``), all in the
``servicedesk`` app. Below the index, the responsibility matrix that routes tickets.

A ticket is always held by exactly one party (internal IT or a provider party); SLA time is
charged to the holder, and every change of holder, status or priority is a
:class:`TicketEvent`, from which the SLA clocks are recomputed.
"""

from __future__ import annotations

from django.db import models

from tandem.core.models import TenantOwned
from tandem.servicedesk.config.models import CannedReply, Category, DeskSettings
from tandem.servicedesk.mail.models import InboundMessage, MailTemplate, OutboundMessage
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets.models import (
    QUEUE_INDEX_COLUMNS,
    Attachment,
    Comment,
    Handoff,
    SlaAlert,
    Ticket,
    TicketEvent,
    TimeEntry,
    attachment_path,
)

__all__ = [
    "QUEUE_INDEX_COLUMNS",
    "Attachment",
    "CannedReply",
    "Category",
    "Comment",
    "Coverage",
    "DeskSettings",
    "Handoff",
    "InboundMessage",
    "MailTemplate",
    "MatrixVersion",
    "OutboundMessage",
    "ResponsibilityRow",
    "SavedView",
    "SlaAlert",
    "Ticket",
    "TicketEvent",
    "TimeEntry",
    "attachment_path",
]


class ResponsibilityRow(TenantOwned):
    """One row of the RACI matrix: for a service area (optionally one site or asset group),
    who is Responsible, Accountable, Consulted and Informed."""

    service_area = models.ForeignKey("tenancy.ServiceArea", on_delete=models.PROTECT)
    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.PROTECT)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    responsible = models.ForeignKey(
        "tenancy.Party", on_delete=models.PROTECT, related_name="responsible_rows"
    )
    accountable = models.ForeignKey(
        "tenancy.Party", on_delete=models.PROTECT, related_name="accountable_rows"
    )
    consulted = models.ManyToManyField("tenancy.Party", blank=True, related_name="consulted_rows")
    informed = models.ManyToManyField("tenancy.Party", blank=True, related_name="informed_rows")
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["service_area__name", "site__name", "asset_group__name"]

    def __str__(self) -> str:
        return f"{self.service_area} → {self.responsible}"


class MatrixVersion(TenantOwned):
    """A snapshot of the whole matrix after each change, so any past state can be shown."""

    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_by = models.CharField(max_length=200)
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="matrixversion_unique"),
        ]

    def __str__(self) -> str:
        return f"Matrix v{self.number}"


class Coverage(TenantOwned):
    """When a party is on duty: a calendar, for one service area or all, up to a priority.

    Internal IT might cover all areas and priorities in office hours; a night MSP might cover
    every area for P1 and P2 only, on a 24/7 or nights calendar.
    """

    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="coverage")
    calendar = models.ForeignKey("sla.Calendar", on_delete=models.PROTECT)
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.PROTECT
    )
    #: Covers priorities 1..max_priority (1 = P1). 5 covers everything in the ITIL grid.
    max_priority = models.PositiveSmallIntegerField(default=5)

    class Meta:
        ordering = ["party__name"]

    def __str__(self) -> str:
        return f"{self.party} on {self.calendar}"

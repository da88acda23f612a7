"""The responsibility matrix: who is Responsible, Accountable, Consulted and Informed for
what (:class:`ResponsibilityRow`), who is on duty when (:class:`Coverage`), and every past
state of both (:class:`MatrixVersion`).

The tables keep the names they had when the matrix was part of the service desk
(``servicedesk_*``): tickets reference rows, and renaming a table under a million tickets is
a rewrite for nothing (decision 0024).
"""

from __future__ import annotations

from django.db import models

from tandem.core.models import TenantOwned


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
        db_table = "servicedesk_responsibilityrow"
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
        db_table = "servicedesk_matrixversion"
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
        db_table = "servicedesk_coverage"
        ordering = ["party__name"]

    def __str__(self) -> str:
        return f"{self.party} on {self.calendar}"

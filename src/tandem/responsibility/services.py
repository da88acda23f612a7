"""Writes of the responsibility matrix: rows added and removed, coverage added, changed and
removed. Keyword-only, actor first, one transaction, audited; each stores a new matrix
version and records ``matrix.changed`` or ``coverage.changed`` (``responsibility.events``)
in the same transaction. The desk recomputes its open tickets' clocks when coverage
changes, as a subscriber of that event.

The audit actions keep the names they had when the matrix was part of the desk
(``servicedesk.add_matrix_row``, ...): audit filters and exports name them (decision 0024).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core.errors import require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.responsibility import events
from tandem.responsibility.apps import CHANGE_MATRIX
from tandem.responsibility.models import Coverage, MatrixVersion, ResponsibilityRow
from tandem.sla.models import Calendar
from tandem.tenancy.choices import EngagementStatus
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site, Tenant

#: Coverage reaches at most P9: the priority matrix has at most nine levels.
MAX_PRIORITY = 9
COVERAGE_FIELDS = ("calendar_id", "service_area_id", "max_priority")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: "Leave this as it is" for arguments where ``None`` is a value of its own (a coverage
#: entry's service area: ``None`` is every area).
KEEP: Any = _Keep()


def _in_tenant(model: type[Model], tenant_id: int, pk: int | None, field: str) -> Any:
    """The tenant's ``model`` row ``pk`` (None stays None); a field error otherwise."""
    if pk is None:
        return None
    found = model._default_manager.filter(tenant_id=tenant_id, pk=pk).first()
    require(found is not None, field, "Not found in this tenant.")
    return found


def _fields(row: Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


# --- Versions -----------------------------------------------------------------------------------


def snapshot_matrix(actor: Principal, tenant: Tenant, summary: str) -> int:
    """Store the whole matrix (rows and coverage) as a new numbered version; its number.

    Called inside the transaction of every matrix write here (which audits it), and by the
    scale generator after its bulk inserts."""
    rows = [
        {
            "id": r.pk,
            "service_area_id": r.service_area_id,
            "site_id": r.site_id,
            "asset_group_id": r.asset_group_id,
            "responsible_id": r.responsible_id,
            "accountable_id": r.accountable_id,
            "consulted_ids": sorted(p.pk for p in r.consulted.all()),
            "informed_ids": sorted(p.pk for p in r.informed.all()),
        }
        for r in ResponsibilityRow.objects.filter(tenant=tenant)
        .prefetch_related("consulted", "informed")
        .order_by("pk")
    ]
    coverage = list(
        Coverage.objects.filter(tenant=tenant)
        .order_by("pk")
        .values("id", "party_id", "calendar_id", "service_area_id", "max_priority")
    )
    last = MatrixVersion.objects.filter(tenant=tenant).order_by("-number").first()
    version = MatrixVersion.objects.create(
        tenant=tenant,
        number=(last.number + 1) if last else 1,
        snapshot={"rows": rows, "coverage": coverage},
        changed_by=actor.label[:200],
        summary=summary[:500],
    )
    return version.number


# --- Rows -----------------------------------------------------------------------------------------


def _row_parties(tenant: Tenant, ids: Iterable[int], field: str) -> list[Party]:
    """The tenant's parties named on a matrix row. A provider's party whose engagement has
    ended cannot be named: the row would route nothing to it (a pending or suspended one
    can, as the matrix is planned ahead; the gap analysis flags it while it is not live)."""
    wanted = sorted(set(ids))
    found = list(Party.objects.filter(tenant=tenant, pk__in=wanted).select_related("engagement"))
    require(len(found) == len(wanted), field, "Not all of these are parties of this tenant.")
    today = timezone.localdate()
    for party in found:
        engagement = party.engagement
        if engagement is None:
            continue
        ended = engagement.status == EngagementStatus.ENDED or (
            engagement.ends_on is not None and engagement.ends_on < today
        )
        require(
            not ended,
            field,
            f"{party.name}'s engagement has ended: name a party with a live engagement.",
        )
    return found


def add_matrix_row(
    *,
    actor: Principal,
    tenant: Tenant,
    service_area_id: int,
    responsible_id: int,
    accountable_id: int,
    site_id: int | None = None,
    asset_group_id: int | None = None,
    consulted_ids: Iterable[int] = (),
    informed_ids: Iterable[int] = (),
    note: str = "",
) -> ResponsibilityRow:
    """Add a RACI row. A provider can be Responsible only for what its engagement covers."""
    authorize(actor, CHANGE_MATRIX, tenant)
    require(
        site_id is None or asset_group_id is None,
        "asset_group_id",
        "Narrow a row to a site or to an asset group, not both.",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        site = _in_tenant(Site, tenant.pk, site_id, "site_id")
        group = _in_tenant(AssetGroup, tenant.pk, asset_group_id, "asset_group_id")
        responsible = _row_parties(tenant, [responsible_id], "responsible_id")[0]
        accountable = _row_parties(tenant, [accountable_id], "accountable_id")[0]
        consulted = _row_parties(tenant, consulted_ids, "consulted_ids")
        informed = _row_parties(tenant, informed_ids, "informed_ids")
        if responsible.engagement_id is not None:
            engagement = responsible.engagement
            assert engagement is not None
            require(
                engagement.service_areas.filter(pk=area.pk).exists(),
                "responsible_id",
                f"{responsible.name}'s engagement does not cover {area.name}.",
            )
        row = ResponsibilityRow.objects.create(
            tenant=tenant,
            service_area=area,
            site=site,
            asset_group=group,
            responsible=responsible,
            accountable=accountable,
            note=clean_text(note, field="note", max_length=500),
        )
        row.consulted.set(consulted)
        row.informed.set(informed)
        summary = f"{area.name}: {responsible.name} responsible"
        version = snapshot_matrix(actor, tenant, summary)
        record_audit(
            actor=actor,
            action="servicedesk.add_matrix_row",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "service_area_id": area.pk,
                    "site_id": site_id,
                    "asset_group_id": asset_group_id,
                    "responsible_id": responsible.pk,
                    "accountable_id": accountable.pk,
                    "consulted_ids": [p.pk for p in consulted],
                    "informed_ids": [p.pk for p in informed],
                },
            ),
        )
        events.matrix_changed(actor=actor, tenant_id=tenant.pk, version=version, summary=summary)
    return row


def remove_matrix_row(*, actor: Principal, row: ResponsibilityRow) -> None:
    """Delete a RACI row; the matrix version history keeps what it was."""
    tenant = row.tenant
    authorize(actor, CHANGE_MATRIX, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        before = {"service_area_id": row.service_area_id, "responsible_id": row.responsible_id}
        record_audit(
            actor=actor,
            action="servicedesk.remove_matrix_row",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(before, {}),
        )
        row.delete()
        version = snapshot_matrix(actor, tenant, "Row removed")
        events.matrix_changed(
            actor=actor, tenant_id=tenant.pk, version=version, summary="Row removed"
        )


# --- Coverage -------------------------------------------------------------------------------------


def add_coverage(
    *,
    actor: Principal,
    tenant: Tenant,
    party: Party,
    calendar_id: int,
    service_area_id: int | None = None,
    max_priority: int = 5,
) -> Coverage:
    """Say when a party is on duty: a calendar, for an area or all, up to a priority."""
    authorize(actor, CHANGE_MATRIX, tenant)
    require(party.tenant_id == tenant.pk, "party_id", "Not a party of this tenant.")
    require(1 <= max_priority <= MAX_PRIORITY, "max_priority", f"Between 1 and {MAX_PRIORITY}.")
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = _in_tenant(Calendar, tenant.pk, calendar_id, "calendar_id")
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        coverage = Coverage.objects.create(
            tenant=tenant,
            party=party,
            calendar=calendar,
            service_area=area,
            max_priority=max_priority,
        )
        version = snapshot_matrix(actor, tenant, f"Coverage for {party.name} on {calendar.name}")
        record_audit(
            actor=actor,
            action="servicedesk.add_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "party_id": party.pk,
                    "calendar_id": calendar.pk,
                    "service_area_id": service_area_id,
                    "max_priority": max_priority,
                },
            ),
        )
        events.coverage_changed(
            actor=actor,
            tenant_id=tenant.pk,
            coverage_id=coverage.pk,
            party_id=party.pk,
            change="added",
            version=version,
        )
    return coverage


def update_coverage(
    *,
    actor: Principal,
    coverage: Coverage,
    calendar_id: int | None = None,
    service_area_id: int | None = KEEP,
    max_priority: int | None = None,
) -> Coverage:
    """Change when a party is on duty: its calendar, its service area (``None``: all
    areas) or the priorities it covers. The party stays. Nothing changed, nothing written."""
    tenant = coverage.tenant
    authorize(actor, CHANGE_MATRIX, tenant)
    before = _fields(coverage, COVERAGE_FIELDS)
    after: dict[str, Any] = {
        "calendar_id": calendar_id if calendar_id is not None else coverage.calendar_id,
        "service_area_id": coverage.service_area_id if service_area_id is KEEP else service_area_id,
        "max_priority": max_priority if max_priority is not None else coverage.max_priority,
    }
    require(
        isinstance(after["max_priority"], int) and 1 <= after["max_priority"] <= MAX_PRIORITY,
        "max_priority",
        f"Between 1 and {MAX_PRIORITY}.",
    )
    changes = diff(before, after)
    if not changes:
        return coverage
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = _in_tenant(Calendar, tenant.pk, after["calendar_id"], "calendar_id")
        area = _in_tenant(ServiceArea, tenant.pk, after["service_area_id"], "service_area_id")
        coverage.calendar = calendar
        coverage.service_area = area
        coverage.max_priority = after["max_priority"]
        coverage.save()
        party = coverage.party
        version = snapshot_matrix(
            actor, tenant, f"Coverage for {party.name} changed: {calendar.name}"
        )
        record_audit(
            actor=actor,
            action="servicedesk.change_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=changes,
        )
        events.coverage_changed(
            actor=actor,
            tenant_id=tenant.pk,
            coverage_id=coverage.pk,
            party_id=party.pk,
            change="changed",
            version=version,
        )
    return coverage


def remove_coverage(*, actor: Principal, coverage: Coverage) -> None:
    """Remove a coverage entry; the matrix version history keeps what it was. A party left
    without entries counts as always on duty (see the matrix page)."""
    tenant = coverage.tenant
    authorize(actor, CHANGE_MATRIX, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        label = f"Coverage for {coverage.party.name} on {coverage.calendar.name} removed"
        coverage_id, party_id = coverage.pk, coverage.party_id
        record_audit(
            actor=actor,
            action="servicedesk.remove_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=diff({**_fields(coverage, COVERAGE_FIELDS), "party_id": party_id}, {}),
        )
        coverage.delete()
        version = snapshot_matrix(actor, tenant, label)
        events.coverage_changed(
            actor=actor,
            tenant_id=tenant.pk,
            coverage_id=coverage_id,
            party_id=party_id,
            change="removed",
            version=version,
        )

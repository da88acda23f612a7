"""Writes of the responsibility matrix and its coverage: rows, versions, coverage added.
Keyword-only, actor first, one transaction, audited. (The ticket's writes are in
``tickets/``, the desk configuration's in ``config/``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core.errors import require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.servicedesk.models import Coverage, ResponsibilityRow
from tandem.servicedesk.tickets.services import _in_tenant
from tandem.tenancy.choices import EngagementStatus
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site, Tenant


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
    from tandem.sla.models import Calendar

    authorize(actor, "servicedesk.change_matrix", tenant)
    require(party.tenant_id == tenant.pk, "party_id", "Not a party of this tenant.")
    require(1 <= max_priority <= 9, "max_priority", "Between 1 and 9.")
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
        _snapshot_matrix(actor, tenant, f"Coverage for {party.name} on {calendar.name}")
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
        _recompute_open_tickets_after_commit(tenant.pk)
    return coverage


def _recompute_open_tickets_after_commit(tenant_id: int) -> None:
    """A new SLA policy or coverage changes due dates: recompute the tenant's open tickets in
    the worker once this change has committed."""
    from tandem.servicedesk.tasks import recompute_tenant_sla_task

    transaction.on_commit(lambda: recompute_tenant_sla_task.enqueue(tenant_id))


# --- The responsibility matrix ---------------------------------------------------------------


def _snapshot_matrix(actor: Principal, tenant: Tenant, summary: str) -> None:
    """Store the whole matrix (rows and coverage) as a new numbered version."""
    from tandem.servicedesk.models import MatrixVersion

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
    MatrixVersion.objects.create(
        tenant=tenant,
        number=(last.number + 1) if last else 1,
        snapshot={"rows": rows, "coverage": coverage},
        changed_by=actor.label[:200],
        summary=summary[:500],
    )


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
    authorize(actor, "servicedesk.change_matrix", tenant)
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
        _snapshot_matrix(actor, tenant, f"{area.name}: {responsible.name} responsible")
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
    return row


def remove_matrix_row(*, actor: Principal, row: ResponsibilityRow) -> None:
    """Delete a RACI row; the matrix version history keeps what it was."""
    tenant = row.tenant
    authorize(actor, "servicedesk.change_matrix", tenant)
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
        _snapshot_matrix(actor, tenant, "Row removed")

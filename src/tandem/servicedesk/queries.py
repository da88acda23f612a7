"""Reads of the responsibility matrix: its rows, coverage and the gap analysis of the week."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone as _timezone

from tandem.core.policies import visible
from tandem.core.principal import Principal
from tandem.servicedesk import desk_config, routing
from tandem.servicedesk.models import Coverage, MatrixVersion, ResponsibilityRow
from tandem.servicedesk.tickets.queries import parties
from tandem.tenancy.models import AssetGroup, ServiceArea, Site, Tenant


def matrix_areas(principal: Principal, tenant_id: int) -> QuerySet[ServiceArea]:
    """The tenant's service areas the principal may see: all for its IT, a provider's own."""
    return visible(
        principal, "tenancy.view_servicearea", ServiceArea.objects.filter(tenant_id=tenant_id)
    )


def matrix_rows(principal: Principal, tenant_id: int) -> QuerySet[ResponsibilityRow]:
    """The RACI rows the principal may read: those of the service areas it sees, narrowed to
    a site or asset group only when it sees that site or group (a provider never learns the
    names of sites outside its engagement), and naming only parties it sees.

    A provider sees the tenant's IT and its own party, never which other providers the
    tenant engages: a row whose responsible or accountable party it cannot see is left out,
    like a row outside its scope, and so are such parties among the consulted and informed.
    """
    sites = visible(principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant_id))
    groups = visible(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant_id)
    )
    seen = parties(principal, tenant_id)
    return (
        ResponsibilityRow.objects.filter(
            tenant_id=tenant_id,
            service_area__in=matrix_areas(principal, tenant_id).values("pk"),
            responsible__in=seen.values("pk"),
            accountable__in=seen.values("pk"),
        )
        .filter(Q(site__isnull=True) | Q(site__in=sites.values("pk")))
        .filter(Q(asset_group__isnull=True) | Q(asset_group__in=groups.values("pk")))
        .select_related("service_area", "site", "asset_group", "responsible", "accountable")
        .prefetch_related(
            Prefetch("consulted", queryset=seen.order_by("name", "pk")),
            Prefetch("informed", queryset=seen.order_by("name", "pk")),
        )
    )


def coverage(principal: Principal, tenant_id: int) -> QuerySet[Coverage]:
    """Who is on duty when: entries for every area, or for an area the principal sees, of
    parties it sees (a provider never learns another provider's hours, nor that it exists)."""
    return (
        Coverage.objects.filter(tenant_id=tenant_id)
        .filter(
            Q(service_area__isnull=True)
            | Q(service_area__in=matrix_areas(principal, tenant_id).values("pk"))
        )
        .filter(party__in=parties(principal, tenant_id).values("pk"))
        .select_related("party", "calendar", "service_area")
    )


#: How a party the reader may not see is named in a finding (never by its name).
ANOTHER_PARTY = "another provider"


@dataclass(frozen=True)
class MatrixView:
    """The responsibility matrix as one principal may read it: the rows, coverage and gap
    findings of the page and of ``GET /api/v1/tenants/{id}/matrix`` alike."""

    version: int
    rows: list[ResponsibilityRow]
    coverage: list[Coverage]
    findings: list[routing.Finding]


def matrix_view(principal: Principal, tenant: Tenant) -> MatrixView:
    """What the matrix page and the matrix API show ``principal`` (who may read the matrix
    of ``tenant``: the caller checks ``servicedesk.view_matrix``).

    The findings are those of the service areas it sees, worked out from the rows it may
    read (a row at a site outside a provider's engagement says nothing about its sites) and
    from every party's coverage (another party on duty does close a gap), and they name only
    parties it sees.
    """
    area_ids = list(
        matrix_areas(principal, tenant.pk).filter(is_active=True).values_list("pk", flat=True)
    )
    rows = list(matrix_rows(principal, tenant.pk))
    readable = {row.pk for row in rows}
    seen = set(parties(principal, tenant.pk).values_list("pk", flat=True))
    context = desk_config.current(tenant.pk).routing_context(area_ids=area_ids)
    context = dataclasses.replace(
        context,
        rows=[row for row in context.rows if row.id in readable],
        party_names={
            pk: name if pk in seen else ANOTHER_PARTY for pk, name in context.party_names.items()
        },
    )
    findings = routing.analyse(context, area_ids=area_ids, week_start=week_start(tenant.time_zone))
    version = (
        MatrixVersion.objects.filter(tenant_id=tenant.pk)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return MatrixView(
        version=version or 0,
        rows=rows,
        coverage=list(coverage(principal, tenant.pk)),
        findings=findings,
    )


def week_start(time_zone: str) -> _dt.datetime:
    """Monday 00:00 of this week in the tenant's zone: the gap analysis's reference week."""
    zone = ZoneInfo(time_zone)
    today = _timezone.now().astimezone(zone).date()
    return _dt.datetime.combine(today - _dt.timedelta(days=today.weekday()), _dt.time(0), zone)

"""Reads of the responsibility matrix: its rows, coverage and versions, the gap analysis of
the week, and the one question other apps ask it, :func:`who_handles`.

Routing needs facts the matrix does not hold: which providers' engagements are live and
what they cover, the calendars behind coverage, how urgent "urgent" is, how many priorities
the tenant has. The app that holds them (the service desk, which caches them per tenant)
registers a :class:`RoutingInputs` when it is ready; this app never imports it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone as _timezone

from tandem.core import policies as core_policies
from tandem.core.errors import require
from tandem.core.principal import Principal
from tandem.responsibility import routing
from tandem.responsibility.apps import VIEW_MATRIX
from tandem.responsibility.models import Coverage, MatrixVersion, ResponsibilityRow
from tandem.responsibility.policies import (
    readable_coverage,
    readable_rows,
    visible_areas,
    visible_parties,
)
from tandem.sla.models import Calendar
from tandem.tenancy.models import Party, ServiceArea, Tenant

# --- Routing: who handles what, when --------------------------------------------------------------


class RoutingInputs(Protocol):
    """What routing reads beyond the matrix, provided by the app that holds it (the desk:
    ``servicedesk.desk_config``)."""

    def routing_context(
        self,
        tenant_id: int,
        *,
        area_ids: Iterable[int | None] = (),
        site_ids: Iterable[int | None] = (),
    ) -> routing.RoutingContext:
        """The tenant's rows, coverage (with calendars), parties, areas, who may hold what
        today (for these areas and sites) and the urgent priorities, as plain data."""
        ...

    def priority_count(self, tenant_id: int) -> int:
        """How many priorities the tenant's priority matrix has (P1..Pn)."""
        ...


_inputs: list[RoutingInputs] = []


def register_routing_inputs(inputs: RoutingInputs) -> None:
    """Called once by the app that provides the routing inputs, when it is ready."""
    _inputs[:] = [inputs]


def routing_inputs() -> RoutingInputs:
    if not _inputs:
        raise ImproperlyConfigured(
            "No app registered the routing inputs (responsibility.queries."
            "register_routing_inputs); the service desk does when it is installed."
        )
    return _inputs[0]


def _pk(value: Model | int | None) -> int | None:
    return value.pk if isinstance(value, Model) else value


def who_handles(
    *,
    tenant: Tenant | int,
    area: ServiceArea | int | None,
    site: Model | int | None = None,
    asset_group: Model | int | None = None,
    priority: int,
    at: _dt.datetime,
    context: routing.RoutingContext | None = None,
) -> routing.Decision:
    """Who handles this (a ticket, tomorrow a patch approval or an alert) of ``area`` at
    ``site`` or in ``asset_group``, with ``priority``, at the moment ``at``: the party and
    the reason in one line a technician can read (``routing.route``).

    ``context`` is the tenant's routing context when the caller holds it already (the desk
    routing a ticket, from its cached configuration); otherwise it comes from the registered
    :class:`RoutingInputs`.
    """
    area_id, site_id = _pk(area), _pk(site)
    if context is None:
        tenant_id = _pk(tenant)
        assert tenant_id is not None
        context = routing_inputs().routing_context(
            tenant_id, area_ids=[area_id], site_ids=[site_id]
        )
    facts = routing.TicketFacts(
        service_area_id=area_id,
        priority=priority,
        at=at,
        site_id=site_id,
        asset_group_id=_pk(asset_group),
    )
    return routing.route(facts, context)


# --- The matrix as a principal reads it -----------------------------------------------------------


def matrix_areas(principal: Principal, tenant_id: int) -> QuerySet[ServiceArea]:
    """The tenant's service areas the principal may see: all for its IT, a provider's own."""
    return visible_areas(principal, tenant_id)


def matrix_rows(principal: Principal, tenant_id: int) -> QuerySet[ResponsibilityRow]:
    """The RACI rows the principal may read (``policies.readable_rows``), naming among the
    consulted and informed only parties it sees."""
    seen = visible_parties(principal, tenant_id)
    return (
        readable_rows(principal, tenant_id)
        .select_related("service_area", "site", "asset_group", "responsible", "accountable")
        .prefetch_related(
            Prefetch("consulted", queryset=seen.order_by("name", "pk")),
            Prefetch("informed", queryset=seen.order_by("name", "pk")),
        )
    )


def coverage(principal: Principal, tenant_id: int) -> QuerySet[Coverage]:
    """Who is on duty when, as the principal may read it (``policies.readable_coverage``)."""
    return readable_coverage(principal, tenant_id).select_related(
        "party", "calendar", "service_area"
    )


def coverage_for(principal: Principal, coverage_id: int, tenant_id: int | None = None) -> Coverage:
    """A coverage entry the principal may read, of ``tenant_id`` when given; else 404."""
    reachable = core_policies.visible(principal, VIEW_MATRIX, Tenant.objects.all())
    found = Coverage.objects.filter(tenant__in=reachable.values("pk"), pk=coverage_id).first()
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        raise Http404("not found")
    entry = coverage(principal, found.tenant_id).select_related("tenant").filter(pk=coverage_id)
    readable = entry.first()
    if readable is None:
        raise Http404("not found")
    return readable


def row_in(tenant: Tenant, row_id: int) -> ResponsibilityRow | None:
    """The tenant's matrix row ``row_id`` (for the page that removes it), or None."""
    return (
        ResponsibilityRow.objects.filter(tenant_id=tenant.pk, pk=row_id)
        .select_related("service_area", "responsible")
        .first()
    )


def row_for_removal(principal: Principal, row_id: int) -> ResponsibilityRow:
    """The row ``row_id`` if the principal may read its tenant's matrix; else 404 (whether
    it may change it is the service's question)."""
    row = ResponsibilityRow.objects.filter(pk=row_id).select_related("tenant").first()
    if row is None or not core_policies.allowed(principal, VIEW_MATRIX, row.tenant):
        raise Http404("not found")
    return row


def parties(principal: Principal, tenant_id: int) -> QuerySet[Party]:
    """The tenant's parties the principal may see (and so name on a row or coverage)."""
    return visible_parties(principal, tenant_id)


def party_in(tenant: Tenant, party_id: int) -> Party:
    """A party of ``tenant`` for a write's input; another tenant's party is bad input."""
    party = Party.objects.filter(tenant=tenant, pk=party_id).first()
    require(party is not None, "party_id", "No such party in this tenant.")
    assert party is not None
    return party


def calendar_choices(tenant: Tenant) -> list[tuple[int, str]]:
    """The tenant's calendars, for a coverage entry to name (``sla.Calendar``)."""
    return list(Calendar.objects.filter(tenant=tenant).values_list("pk", "name"))


def priority_count(tenant_id: int) -> int:
    """How many priorities the tenant has (coverage reaches up to one of them)."""
    return routing_inputs().priority_count(tenant_id)


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
    of ``tenant``: the caller checks ``responsibility.view_matrix``).

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
    seen = set(visible_parties(principal, tenant.pk).values_list("pk", flat=True))
    context = routing_inputs().routing_context(tenant.pk, area_ids=area_ids)
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

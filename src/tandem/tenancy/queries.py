"""Reads in tenancy: every list and lookup narrowed by the policy of its action."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.tenancy.choices import EngagementStatus
from tandem.tenancy.models import Engagement, Party, Provider, ServiceArea, Tenant


def tenants(principal: Principal, action: str = "tenancy.view_tenant") -> QuerySet[Tenant]:
    return visible(principal, action, Tenant.objects.all())


def tenant(principal: Principal, tenant_id: int, action: str = "tenancy.view_tenant") -> Tenant:
    return get_visible_or_404(principal, action, Tenant.objects.all(), pk=tenant_id)


def providers(principal: Principal) -> QuerySet[Provider]:
    return visible(principal, "tenancy.view_provider", Provider.objects.all())


def providers_to_engage(principal: Principal, tenant: Tenant) -> QuerySet[Provider]:
    """The active providers the tenant may grant an engagement to: not those that already
    have one here that has not ended (pending, active or suspended), which the grant would
    refuse anyway ("rescope that one instead")."""
    engaged = Engagement.objects.filter(
        tenant=tenant,
        status__in=[
            EngagementStatus.PENDING,
            EngagementStatus.ACTIVE,
            EngagementStatus.SUSPENDED,
        ],
    ).values("provider_id")
    return providers(principal).filter(is_active=True).exclude(pk__in=engaged)


def engagements(
    principal: Principal, action: str = "tenancy.view_engagement"
) -> QuerySet[Engagement]:
    """Engagements the principal may see: the tenant's (for its IT), or the provider's own.

    A provider admin must see a *pending* engagement before it opens the tenant, so the base
    query runs in a system context; the policy's filter is built from the principal alone.
    """
    with system_context("engagements, including those of tenants not yet reachable"):
        # The scope as plain lists (``scope_areas``, ``scope_sites``, ``scope_groups``):
        # Django builds a related queryset per row for a prefetch kept on the manager, which
        # cost an MSP's home page 150 ms for 160 engagements; read them with scope_of().
        base = Engagement.objects.select_related("provider", "tenant", "party").prefetch_related(
            Prefetch("service_areas", to_attr="scope_areas"),
            Prefetch("sites", to_attr="scope_sites"),
            Prefetch("asset_groups", to_attr="scope_groups"),
        )
        return visible(principal, action, base)


def scope_of(engagement: Engagement) -> tuple[list[Any], list[Any], list[Any]]:
    """The engagement's service areas, sites and asset groups: the lists :func:`engagements`
    prefetched, else read now and kept on it (an engagement loaded some other way)."""
    if getattr(engagement, "scope_areas", None) is None:
        engagement.scope_areas = list(engagement.service_areas.all())  # type: ignore[attr-defined]
        engagement.scope_sites = list(engagement.sites.all())  # type: ignore[attr-defined]
        engagement.scope_groups = list(engagement.asset_groups.all())  # type: ignore[attr-defined]
    return engagement.scope_areas, engagement.scope_sites, engagement.scope_groups  # type: ignore[attr-defined]


def engagement(
    principal: Principal, engagement_id: int, action: str = "tenancy.view_engagement"
) -> Engagement:
    with system_context("one engagement, filtered by the principal's policy"):
        base = Engagement.objects.select_related("provider", "tenant", "party")
        return get_visible_or_404(principal, action, base, pk=engagement_id)


def service_areas(principal: Principal, tenant_id: int) -> QuerySet[ServiceArea]:
    """The tenant's service areas the principal may see: all for its IT, a provider's own."""
    return visible(
        principal, "tenancy.view_servicearea", ServiceArea.objects.filter(tenant_id=tenant_id)
    )


def internal_party(tenant: Tenant) -> Party:
    return Party.objects.get(tenant=tenant, kind="internal")


def engagements_with_scope(principal: Principal, **lookup: Any) -> list[Engagement]:
    """Engagements the principal may see (narrowed by ``lookup``), with their scope loaded.

    Scope items (service areas, sites, asset groups) are tenant data, so they load within
    the tenants the principal can reach. The exception is a pending engagement offered to
    the principal's provider: its admin must see what is offered before accepting, so those
    rows are read in a named system context. Each row's ``scope_visible`` says whether its
    scope could be loaded (a suspended or ended provider no longer sees the tenant's sites).
    """
    rows = list(engagements(principal).filter(**lookup))
    reachable = principal.tenant_ids
    offers = {
        e.pk for e in rows if e.tenant_id not in reachable and e.status == EngagementStatus.PENDING
    }
    if offers:
        with system_context("pending engagements offered to the principal's provider"):
            loaded = {e.pk: e for e in engagements(principal).filter(pk__in=offers)}
        rows = [loaded.get(e.pk, e) for e in rows]
    for row in rows:
        row.scope_visible = (  # type: ignore[attr-defined]
            principal.is_system or row.tenant_id in reachable or row.pk in offers
        )
    return rows

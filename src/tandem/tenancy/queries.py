"""Reads in tenancy: every list and lookup narrowed by the policy of its action."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement, Party, Provider, Tenant


def tenants(principal: Principal, action: str = "tenancy.view_tenant") -> QuerySet[Tenant]:
    return visible(principal, action, Tenant.objects.all())


def tenant(principal: Principal, tenant_id: int, action: str = "tenancy.view_tenant") -> Tenant:
    return get_visible_or_404(principal, action, Tenant.objects.all(), pk=tenant_id)


def providers(principal: Principal) -> QuerySet[Provider]:
    return visible(principal, "tenancy.view_provider", Provider.objects.all())


def engagements(
    principal: Principal, action: str = "tenancy.view_engagement"
) -> QuerySet[Engagement]:
    """Engagements the principal may see: the tenant's (for its IT), or the provider's own.

    A provider admin must see a *pending* engagement before it opens the tenant, so the base
    query runs in a system context; the policy's filter is built from the principal alone.
    """
    with system_context("engagements, including those of tenants not yet reachable"):
        base = Engagement.objects.select_related("provider", "tenant", "party").prefetch_related(
            "service_areas", "sites", "asset_groups"
        )
        return visible(principal, action, base)


def engagement(
    principal: Principal, engagement_id: int, action: str = "tenancy.view_engagement"
) -> Engagement:
    with system_context("one engagement, filtered by the principal's policy"):
        base = Engagement.objects.select_related("provider", "tenant", "party")
        return get_visible_or_404(principal, action, base, pk=engagement_id)


def internal_party(tenant: Tenant) -> Party:
    return Party.objects.get(tenant=tenant, kind="internal")


def engagements_with_scope(principal: Principal, **lookup: Any) -> list[Engagement]:
    """Engagements the principal may see (narrowed by ``lookup``), with their scope loaded.

    A provider's pending or suspended engagement lies in a tenant it cannot reach, so the
    scoped managers would hide the service areas, sites and asset groups it was offered.
    They are read here in the same named system context as the engagements themselves; the
    rows are still exactly those the principal's policy lets it see.
    """
    with system_context("engagements with the scope offered to the principal"):
        return list(engagements(principal).filter(**lookup))

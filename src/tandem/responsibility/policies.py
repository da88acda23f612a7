"""Who may read and change the responsibility matrix, and which of its rows and coverage
entries a reader sees.

- The matrix is read by the tenant's IT (owners, technicians, auditors) and the providers it
  engages (``responsibility.view_matrix``) and changed by the tenant's owners only
  (``responsibility.change_matrix``, never a provider's people).
- A provider reads the rows of the service areas it sees, narrowed to a site or asset group
  only when it sees that site or group, and naming only parties it sees (the tenant's IT and
  its own party): it never learns which other providers the tenant engages, nor the names of
  sites outside its engagement. Coverage likewise: entries for every area or an area it sees,
  of parties it sees.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tandem.core.policies import ScopedPermission, policy, visible
from tandem.core.principal import Principal
from tandem.responsibility.apps import CHANGE_MATRIX, VIEW_MATRIX
from tandem.responsibility.models import Coverage, ResponsibilityRow
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site

policy(VIEW_MATRIX)(ScopedPermission(VIEW_MATRIX, tenant_field="id"))
policy(CHANGE_MATRIX)(ScopedPermission(CHANGE_MATRIX, tenant_field="id", internal_only=True))


def visible_areas(principal: Principal, tenant_id: int) -> QuerySet[ServiceArea]:
    """The tenant's service areas the principal may see: all for its IT, a provider's own."""
    return visible(
        principal, "tenancy.view_servicearea", ServiceArea.objects.filter(tenant_id=tenant_id)
    )


def visible_parties(principal: Principal, tenant_id: int) -> QuerySet[Party]:
    """The tenant's parties the principal may see (a provider: internal IT and its own)."""
    return visible(principal, "tenancy.view_party", Party.objects.filter(tenant_id=tenant_id))


def visible_sites(principal: Principal, tenant_id: int) -> QuerySet[Site]:
    """The tenant's sites the principal may see (a provider: its engagement's)."""
    return visible(principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant_id))


def visible_asset_groups(principal: Principal, tenant_id: int) -> QuerySet[AssetGroup]:
    """The tenant's asset groups the principal may see."""
    return visible(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant_id)
    )


def readable_rows(principal: Principal, tenant_id: int) -> QuerySet[ResponsibilityRow]:
    """The RACI rows the principal may read (see the module's rules): a row whose
    responsible or accountable party it cannot see is left out, like a row outside its
    scope."""
    sites = visible_sites(principal, tenant_id)
    groups = visible_asset_groups(principal, tenant_id)
    seen = visible_parties(principal, tenant_id)
    return (
        ResponsibilityRow.objects.filter(
            tenant_id=tenant_id,
            service_area__in=visible_areas(principal, tenant_id).values("pk"),
            responsible__in=seen.values("pk"),
            accountable__in=seen.values("pk"),
        )
        .filter(Q(site__isnull=True) | Q(site__in=sites.values("pk")))
        .filter(Q(asset_group__isnull=True) | Q(asset_group__in=groups.values("pk")))
    )


def readable_coverage(principal: Principal, tenant_id: int) -> QuerySet[Coverage]:
    """Coverage entries for every area, or for an area the principal sees, of parties it
    sees (a provider never learns another provider's hours, nor that it exists)."""
    return (
        Coverage.objects.filter(tenant_id=tenant_id)
        .filter(
            Q(service_area__isnull=True)
            | Q(service_area__in=visible_areas(principal, tenant_id).values("pk"))
        )
        .filter(party__in=visible_parties(principal, tenant_id).values("pk"))
    )

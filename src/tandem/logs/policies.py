"""Who manages ingest sources (decision 0035).

``logs.manage_sources`` is held by the tenant's owners and internal IT and by its
providers' admins. A source's logs may name any host of the tenant, so a provider reaches
the sources only when its engagement covers the whole tenant: an engagement narrowed to
sites or asset groups sees none (it could otherwise read counters of, and mint tokens for,
logs from hosts it was never given).
"""

from __future__ import annotations

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.logs.permissions import MANAGE_SOURCES


def whole_tenant_scope(access: TenantAccess) -> Q:
    if access.provider_id is None:
        return Q()
    if access.site_ids is not None or access.asset_group_ids is not None:
        return Q(pk__in=[])
    return Q()


manage_sources = policy(MANAGE_SOURCES)(ScopedPermission(MANAGE_SOURCES, rule=whole_tenant_scope))


def may_manage_in(principal: Principal, tenant_id: int) -> bool:
    """May ``principal`` add a source to this tenant? One of its accesses with the
    permission must cover the whole tenant (the rule above, for a source not yet made)."""
    if principal.is_system:
        return True
    return any(
        access.provider_id is None or (access.site_ids is None and access.asset_group_ids is None)
        for access in principal.accesses_with(MANAGE_SOURCES, tenant_id)
    )

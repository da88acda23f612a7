"""Who manages enrolment and device credentials (decision 0027).

``agents.manage_enrolment`` is held by the tenant's owners and internal IT and by its
providers' admins. A provider's admin reaches only the tokens placed inside its
engagement's scope (its sites, its asset groups), as with devices (decision 0026): a
token with no site cannot be made or seen by an engagement narrowed to sites, since it
would enrol devices the provider was never given.

A device's inventory is read with ``assets.view_device`` (the assets app's policy): whoever
sees the device sees what its agent reported.
"""

from __future__ import annotations

from django.db.models import Q

from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess


def placement_scope(access: TenantAccess) -> Q:
    """The tokens (or devices) one access reaches by site and asset group."""
    if access.provider_id is None:
        return Q()
    rule = Q()
    if access.site_ids is not None:
        rule &= Q(site_id__in=sorted(access.site_ids))
    if access.asset_group_ids is not None:
        rule &= Q(asset_group_id__in=sorted(access.asset_group_ids))
    return rule


manage_enrolment = policy(MANAGE_ENROLMENT)(
    ScopedPermission(MANAGE_ENROLMENT, rule=placement_scope)
)


def may_place(
    principal: Principal, *, tenant_id: int, site_id: int | None, asset_group_id: int | None
) -> bool:
    """May ``principal`` make a token that places devices here? One of its accesses with the
    permission in the tenant must reach that site and group."""
    if principal.is_system:
        return True
    for access in principal.accesses_with(MANAGE_ENROLMENT, tenant_id):
        if access.provider_id is None:
            return True
        if access.site_ids is not None and site_id not in access.site_ids:
            continue
        if access.asset_group_ids is not None and asset_group_id not in access.asset_group_ids:
            continue
        return True
    return False

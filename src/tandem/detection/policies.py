"""Who sees and changes detection rules (decision 0044).

- The installed packs (instance data) are read by anyone holding ``detection.view_rules``
  somewhere; they are the same for every tenant.
- A tenant's choices (packs and rules turned off, custom rules) are read by its own IT and
  auditors, and by a provider through an engagement covering the tenant's *security
  monitoring* area (stored on each row when it was made, as for alerts).
- Changing them (``detection.change_rules``) is the tenant's own IT's, or a provider's
  whose engagement covers the area, allows ``security.rules`` and is not narrowed to sites
  or asset groups: a rule runs over every event of the tenant.
"""

from __future__ import annotations

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.detection.permissions import CHANGE_RULES, ENGAGEMENT_RULES, VIEW_RULES

NOTHING = Q(pk__in=[])


def rules_scope(access: TenantAccess) -> Q:
    """The tenant's rule rows one access reads."""
    if access.provider_id is None:
        return Q()
    return Q(service_area_id__in=sorted(access.service_area_ids or ()))


def may_change_rules_in(access: TenantAccess, area_id: int | None) -> bool:
    """Whether one access may change the tenant's rules (no query)."""
    if access.provider_id is None:
        return access.party_id is not None
    return (
        ENGAGEMENT_RULES in access.engagement_actions
        and area_id is not None
        and area_id in (access.service_area_ids or ())
        and access.site_ids is None
        and access.asset_group_ids is None
    )


def may_read_rules_in(access: TenantAccess, area_id: int | None) -> bool:
    """Whether one access reads the tenant's rule pages (no query)."""
    if access.provider_id is None:
        return True
    return area_id is not None and area_id in (access.service_area_ids or ())


def _change_scope(access: TenantAccess) -> Q:
    if access.provider_id is None:
        return Q() if access.party_id is not None else NOTHING
    if (
        ENGAGEMENT_RULES not in access.engagement_actions
        or access.site_ids is not None
        or access.asset_group_ids is not None
    ):
        return NOTHING
    return rules_scope(access)


def changing_access(
    principal: Principal, tenant_id: int, area_id: int | None
) -> TenantAccess | None:
    """The access through which ``principal`` changes the tenant's rules (its own IT
    preferred), else None. Plain data: no query."""
    candidates = [
        access
        for access in principal.accesses_with(CHANGE_RULES, tenant_id)
        if may_change_rules_in(access, area_id)
    ]
    candidates.sort(key=lambda access: access.provider_id is not None)
    return candidates[0] if candidates else None


view_rules = policy(VIEW_RULES)(ScopedPermission(VIEW_RULES, rule=rules_scope))
change_rules = policy(CHANGE_RULES)(ScopedPermission(CHANGE_RULES, rule=_change_scope))

"""Who sees and changes what of patching (decision 0031).

- Update states follow their device (``assets.policies.device_scope``): the tenant's own
  people see all, a provider the devices inside its engagement's sites and groups.
- Policies: the tenant's own people see all; a provider sees the tenant-level policy and
  the policies of the sites, groups and devices inside its scope (a site it does not serve
  is not named to it).
- Rings and windows are the tenant's calendar and read by everyone with the permission.
- Changes to policies, rings, windows and settings are the tenant's own IT's
  (``internal_only``): the tenant sets the rules its providers patch by.
- *Approving* needs :data:`APPROVE_UPDATES` in the tenant and more: the actor must act for
  the party the responsibility matrix names for the device (``services.approve_updates``).
"""

from __future__ import annotations

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import TenantAccess
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY, VIEW_PATCHING


def _device_rule(access: TenantAccess, prefix: str) -> Q:
    if access.provider_id is None:
        return Q()
    rule = Q()
    if access.site_ids is not None:
        rule &= Q(**{f"{prefix}site_id__in": sorted(access.site_ids)})
    if access.asset_group_ids is not None:
        rule &= Q(**{f"{prefix}asset_group_id__in": sorted(access.asset_group_ids)})
    return rule


def state_scope(access: TenantAccess) -> Q:
    """The update states one access reaches: those of the devices it sees."""
    return _device_rule(access, "device__")


def device_scope(access: TenantAccess) -> Q:
    """The devices whose patching one access reads (compliance counts over them)."""
    return _device_rule(access, "")


def policy_scope(access: TenantAccess) -> Q:
    """The policies one access reads (see the module's rules)."""
    if access.provider_id is None:
        return Q()
    sites = Q(site_id__in=sorted(access.site_ids)) if access.site_ids is not None else Q()
    groups = (
        Q(asset_group_id__in=sorted(access.asset_group_ids))
        if access.asset_group_ids is not None
        else Q()
    )
    return (
        Q(level="tenant")
        | (Q(level="site") & sites)
        | (Q(level="asset_group") & groups)
        | (Q(level="device") & _device_rule(access, "device__"))
    )


#: Reading update states (and, given a tenant, the tenant's patching pages at all).
view_patching = policy(VIEW_PATCHING)(ScopedPermission(VIEW_PATCHING, rule=state_scope))
#: Reading policies: an action of its own over the same permission, with the policy rule.
VIEW_PATCH_POLICY = "patching.view_patchpolicy"
view_patch_policy = policy(VIEW_PATCH_POLICY)(ScopedPermission(VIEW_PATCHING, rule=policy_scope))
change_patch_policy = policy(CHANGE_PATCH_POLICY)(
    ScopedPermission(CHANGE_PATCH_POLICY, internal_only=True)
)
approve_updates = policy(APPROVE_UPDATES)(ScopedPermission(APPROVE_UPDATES, rule=state_scope))
#: Reading devices for their patching (compliance figures): the same permission and scope
#: as update states, over the devices themselves (an auditor without ``assets.view_device``
#: still reads the compliance figures).
VIEW_PATCHING_DEVICES = "patching.view_patching_devices"
view_patching_devices = policy(VIEW_PATCHING_DEVICES)(
    ScopedPermission(VIEW_PATCHING, rule=device_scope)
)

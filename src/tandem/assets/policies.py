"""Who sees and changes which device (decision 0026).

- The tenant's own people with ``assets.view_device`` (owners, internal IT, auditors) see
  every device of the tenant; requesters hold no device permission and see none.
- A provider's people see the devices inside their engagement's scope: when the engagement
  names sites, the device's site is one of them; when it names asset groups, the device's
  group is one of them. An engagement that names neither covers the whole tenant, placed or
  not; a device with no site (or no group) is outside an engagement restricted to sites (or
  groups): nobody has said it is the provider's, so it stays hidden (fail closed).
- Changing a device (``assets.change_device``) follows the same scope. Its ``protected``
  flag is the tenant's guard on its providers' jobs, so only the tenant's own IT changes it
  (:data:`PROTECT_DEVICE`, internal accesses only).

One ``Q`` per policy serves lists and single devices alike, so a list never shows what a
device page would refuse.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tandem.assets.apps import CHANGE_DEVICE, VIEW_DEVICE
from tandem.assets.models import Device
from tandem.core.policies import ScopedPermission, policy, visible
from tandem.core.principal import Principal, TenantAccess

#: Setting or clearing a device's ``protected`` flag: the change permission held by the
#: tenant's own IT (a provider never lifts the guard on its own jobs).
PROTECT_DEVICE = "assets.protect_device"
#: Reading and setting the tenant's offline alert policy (decision 0032): the tenant's own
#: IT, with the device permissions; a provider reads the tickets it opens, not the policy.
VIEW_OFFLINE_ALERTS = "assets.view_offline_alerts"
SET_OFFLINE_ALERTS = "assets.set_offline_alerts"


def device_scope(access: TenantAccess) -> Q:
    """The devices one access reaches: all of the tenant for its own people, the
    engagement's sites and asset groups for a provider (see the module's rules)."""
    if access.provider_id is None:
        return Q()
    rule = Q()
    if access.site_ids is not None:
        rule &= Q(site_id__in=sorted(access.site_ids))
    if access.asset_group_ids is not None:
        rule &= Q(asset_group_id__in=sorted(access.asset_group_ids))
    return rule


view_device = policy(VIEW_DEVICE)(ScopedPermission(VIEW_DEVICE, rule=device_scope))
change_device = policy(CHANGE_DEVICE)(ScopedPermission(CHANGE_DEVICE, rule=device_scope))
protect_device = policy(PROTECT_DEVICE)(ScopedPermission(CHANGE_DEVICE, internal_only=True))
view_offline_alerts = policy(VIEW_OFFLINE_ALERTS)(ScopedPermission(VIEW_DEVICE, internal_only=True))
set_offline_alerts = policy(SET_OFFLINE_ALERTS)(ScopedPermission(CHANGE_DEVICE, internal_only=True))


def visible_devices(
    principal: Principal, queryset: QuerySet[Device] | None = None
) -> QuerySet[Device]:
    """The devices ``principal`` may see (of ``queryset``, else of every tenant it reaches)."""
    return visible(principal, VIEW_DEVICE, Device.objects.all() if queryset is None else queryset)

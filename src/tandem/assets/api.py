"""The devices API, one router the registry mounts at ``/api/v1/``: the device list (search,
filters, across every tenant the caller reaches or one with ``tenant_id``), one device, its
changes and its retirement.

Thin handlers: the device through the queries (404 out of reach), one service.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.assets import offline_services, queries, services
from tandem.assets.apps import CHANGE_DEVICE, VIEW_DEVICE
from tandem.assets.policies import SET_OFFLINE_ALERTS, VIEW_OFFLINE_ALERTS
from tandem.assets.schemas import (
    DeviceOut,
    DevicePatch,
    DeviceQuery,
    OfflinePolicyIn,
    OfflinePolicyOut,
)
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest, tenant_in_reach

router = Router(tags=["devices"])


@router.get("/devices", response=list[DeviceOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_DEVICE)
def list_devices(request: TandemRequest, filters: Query[DeviceQuery]):  # type: ignore[no-untyped-def]
    """The devices the caller may see (a provider: inside its engagements' scope, across
    its client tenants), most recently seen first or by name. ``count`` stops at 1,000
    (``count_exact`` says whether it is whole)."""
    return queries.search(request.principal, filters.as_filter())


@router.get("/devices/{device_id}", response=DeviceOut)
@declare_action(VIEW_DEVICE)
def get_device(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    return queries.device(request.principal, device_id)


@router.patch("/devices/{device_id}", response=DeviceOut)
@declare_action(CHANGE_DEVICE)
def update_device(request: TandemRequest, device_id: Id, payload: DevicePatch):  # type: ignore[no-untyped-def]
    """Rename, place or protect a device. ``null`` clears a site or asset group; a field
    left out stays as it is. Only the tenant's own IT changes ``protected``."""
    principal = request.principal
    device = queries.device(principal, device_id)
    return services.update_device(
        actor=principal, device=device, **payload.model_dump(exclude_unset=True)
    )


@router.post("/devices/{device_id}/retire", response=DeviceOut)
@declare_action(CHANGE_DEVICE)
def retire_device(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """Take a device out of service (it keeps its history and tickets)."""
    principal = request.principal
    return services.retire_device(actor=principal, device=queries.device(principal, device_id))


@router.get("/tenants/{tenant_id}/offline-alert-policies", response=list[OfflinePolicyOut])
@declare_action(VIEW_OFFLINE_ALERTS)
def list_offline_policies(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's offline alert policy (first, ``site_id`` null) and its site overrides."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_OFFLINE_ALERTS)
    return list(queries.offline_policies(request.principal, tenant.pk))


@router.put("/tenants/{tenant_id}/offline-alert-policy", response=OfflinePolicyOut)
@declare_action(SET_OFFLINE_ALERTS)
def set_offline_policy(request: TandemRequest, tenant_id: Id, payload: OfflinePolicyIn):  # type: ignore[no-untyped-def]
    """Set the tenant's offline alert policy, or a site's override (``site_id``). Devices
    silent for ``minutes`` open a ticket routed by the responsibility matrix; tickets name
    the caller as requester. 409 when nothing would change."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, SET_OFFLINE_ALERTS)
    return offline_services.set_offline_policy(
        actor=principal, tenant=tenant, **payload.model_dump()
    )


@router.delete("/offline-alert-policies/{offline_policy_id}", response={204: None})
@declare_action(SET_OFFLINE_ALERTS)
def remove_offline_policy(request: TandemRequest, offline_policy_id: Id):  # type: ignore[no-untyped-def]
    """Remove a site's override (its devices follow the tenant's policy again); the
    tenant's own policy is disabled, never removed (422)."""
    principal = request.principal
    offline_services.remove_offline_policy(
        actor=principal, policy=queries.offline_policy_for_change(principal, offline_policy_id)
    )
    return 204, None

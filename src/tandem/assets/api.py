"""The devices API, one router the registry mounts at ``/api/v1/``: the device list (search,
filters, across every tenant the caller reaches or one with ``tenant_id``), one device, its
changes and its retirement.

Thin handlers: the device through the queries (404 out of reach), one service.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.assets import queries, services
from tandem.assets.apps import CHANGE_DEVICE, VIEW_DEVICE
from tandem.assets.schemas import DeviceOut, DevicePatch, DeviceQuery
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest

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

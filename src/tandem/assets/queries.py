"""Reads of devices: one device as the reader may see it, the tenant's device list and a
provider's cross-tenant list with search and filters, and the device page's sections that
other apps add (:func:`register_device_section`).

Lists walk the indexes newest check-in first (``device_tenant_seen`` in one tenant,
``device_seen`` across tenants) or by name, and count at most ``COUNT_CAP`` rows
(decisions 0013, 0014): a provider with a hundred thousand devices costs what a small
tenant does for one page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tandem.assets.apps import VIEW_DEVICE
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device, OfflineAlertPolicy
from tandem.assets.policies import SET_OFFLINE_ALERTS, VIEW_OFFLINE_ALERTS, visible_devices
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.tenancy.models import AssetGroup, Site

#: Search terms are cut to this length (longer ones match nothing a person typed).
MAX_TERM = 100
#: The orders a list offers: public name -> order_by.
ORDERINGS: dict[str, tuple[Any, ...]] = {
    "last_seen": (F("last_seen_at").desc(nulls_last=True), "id"),
    "name": ("name", "id"),
}
ONLINE, OFFLINE, NEVER = "online", "offline", "never"


def offline_after() -> dt.timedelta:
    """How long a device may stay silent before it shows as offline."""
    return dt.timedelta(minutes=settings.DEVICE_OFFLINE_MINUTES)


def connectivity(device: Device, now: dt.datetime | None = None) -> str:
    """``online``, ``offline`` or ``never`` (no check-in yet) for one device."""
    if device.last_seen_at is None:
        return NEVER
    now = now or timezone.now()
    return ONLINE if device.last_seen_at >= now - offline_after() else OFFLINE


@dataclass(frozen=True)
class DeviceFilter:
    """What a device list is narrowed to; every field optional. ``status`` defaults to the
    active devices (retired ones are listed on asking)."""

    q: str = ""
    tenant_id: int | None = None
    site_id: int | None = None
    asset_group_id: int | None = None
    os_family: str = ""
    connectivity: str = ""
    protected: bool | None = None
    status: str = DeviceStatus.ACTIVE
    ordering: str = "last_seen"


def devices(principal: Principal) -> QuerySet[Device]:
    """Every device the principal may see, across the tenants it reaches."""
    return visible_devices(principal)


def device(principal: Principal, device_id: int) -> Device:
    """One device the principal may see, else 404 (another tenant's or out of scope)."""
    return get_visible_or_404(
        principal,
        VIEW_DEVICE,
        Device.objects.select_related("tenant", "site", "asset_group"),
        pk=device_id,
    )


def search(
    principal: Principal, filters: DeviceFilter, now: dt.datetime | None = None
) -> QuerySet[Device]:
    """The devices the principal may see that match ``filters``, in the chosen order.

    The search term matches hostname, name or serial number, ignoring case, anywhere in
    them (what people paste is often a part: ``db01`` for ``acme-db01.corp``)."""
    rows = visible_devices(principal)
    if filters.tenant_id is not None:
        rows = rows.filter(tenant_id=filters.tenant_id)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if term := filters.q.strip()[:MAX_TERM]:
        rows = rows.filter(
            Q(hostname__icontains=term) | Q(name__icontains=term) | Q(serial_number__icontains=term)
        )
    if filters.site_id is not None:
        rows = rows.filter(site_id=filters.site_id)
    if filters.asset_group_id is not None:
        rows = rows.filter(asset_group_id=filters.asset_group_id)
    if filters.os_family:
        rows = rows.filter(os_family=filters.os_family)
    if filters.protected is not None:
        rows = rows.filter(protected=filters.protected)
    if filters.connectivity:
        since = (now or timezone.now()) - offline_after()
        if filters.connectivity == ONLINE:
            rows = rows.filter(last_seen_at__gte=since)
        elif filters.connectivity == OFFLINE:
            rows = rows.filter(Q(last_seen_at__lt=since) | Q(last_seen_at__isnull=True))
    order = ORDERINGS.get(filters.ordering, ORDERINGS["last_seen"])
    return rows.select_related("tenant", "site", "asset_group").order_by(*order)


def sites(principal: Principal, tenant_id: int) -> QuerySet[Site]:
    """The tenant's sites the principal may see: the choices of a device's placement."""
    return visible(principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant_id))


def asset_groups(principal: Principal, tenant_id: int) -> QuerySet[AssetGroup]:
    """The tenant's asset groups the principal may see."""
    return visible(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant_id)
    )


def visible_device_ids(principal: Principal, ids: list[int]) -> set[int]:
    """Which of ``ids`` name devices the principal may see (a ticket's links, filtered)."""
    if not ids:
        return set()
    return set(visible_devices(principal).filter(pk__in=ids).values_list("pk", flat=True))


# --- Sections of the device page ----------------------------------------------------------------
# The device page shows what other apps know of a device (its inventory and pending updates
# from the agents app, its tickets from the desk) without this app importing them: each
# registers a section provider at start, called with the reader and the device (which the
# reader may see). A provider returns None to show nothing, else a section to render.


@dataclass(frozen=True)
class DeviceSection:
    """One section of the device page: a heading, and a template rendered with ``context``
    (the page's own context plus these values). ``order`` places it (lower first)."""

    key: str
    title: str
    template: str
    context: dict[str, Any]
    order: int = 100


SectionProvider = Callable[[Principal, Device], DeviceSection | None]
_SECTIONS: list[SectionProvider] = []


def register_device_section(provider: SectionProvider) -> SectionProvider:
    """Add a section to the device page (call from an ``AppConfig.ready``); idempotent."""
    if provider not in _SECTIONS:
        _SECTIONS.append(provider)
    return provider


def device_sections(principal: Principal, device: Device) -> list[DeviceSection]:
    """The sections other apps give this device's page for this reader, in order."""
    found = [section for provider in _SECTIONS if (section := provider(principal, device))]
    return sorted(found, key=lambda section: (section.order, section.key))


# --- Offline alert policies (decision 0032) -----------------------------------------------


def offline_policies(principal: Principal, tenant_id: int) -> QuerySet[OfflineAlertPolicy]:
    """The tenant's offline alert policy and its site overrides (the tenant's first), as
    far as the principal may read them (the tenant's own IT)."""
    return visible(
        principal,
        VIEW_OFFLINE_ALERTS,
        OfflineAlertPolicy.objects.filter(tenant_id=tenant_id).select_related(
            "site", "asset_group", "service_area"
        ),
    ).order_by(F("site_id").asc(nulls_first=True), "id")


def offline_policy_for_change(principal: Principal, policy_id: int) -> OfflineAlertPolicy:
    """One policy the principal may change, else 404 (another tenant's reads as none)."""
    return get_visible_or_404(
        principal,
        SET_OFFLINE_ALERTS,
        OfflineAlertPolicy.objects.select_related("tenant"),
        pk=policy_id,
    )

"""Writes of devices: registered at enrolment, updated (name, placement, protection) and
retired. Keyword-only, actor first, one transaction, audited, each recording its domain
event (``assets.events``) in the same transaction.

The agents app calls :func:`register_device` when an agent enrols, with the enrolling actor
(the principal its enrolment token stands for); the agent's check-ins that only move
``last_seen_at`` and ``inventory_hash`` are the agents app's hot path and no audit event
(its decision record says why).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.assets import events
from tandem.assets.apps import CHANGE_DEVICE
from tandem.assets.choices import DeviceStatus, OsFamily
from tandem.assets.models import Device
from tandem.assets.offline_services import end_episode_on_retirement
from tandem.assets.policies import PROTECT_DEVICE
from tandem.audit.services import diff, record_audit
from tandem.core.errors import InvalidInput, require
from tandem.core.policies import allowed, authorize, visible
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.tenancy.models import AssetGroup, Site, Tenant

#: A site or asset group named in a write that the actor cannot see in the device's tenant.
NO_SUCH_SITE = "No such site in this tenant."
NO_SUCH_GROUP = "No such asset group in this tenant."
DUPLICATE_HARDWARE_ID = "A device with this hardware id is already enrolled in this tenant."
#: The identity fields an agent reports, with their longest values (the model's columns).
IDENTITY_LIMITS = {
    "hostname": 255,
    "hardware_id": 128,
    "serial_number": 128,
    "os_name": 120,
    "os_version": 120,
    "kernel": 120,
    "architecture": 32,
}
AUDITED_FIELDS = ("name", "site_id", "asset_group_id", "protected", "status")
#: What an enrolment's audit entry records: the placement and the identity it was given.
ENROLMENT_FIELDS = (*AUDITED_FIELDS, "hostname", "hardware_id", "enrolled_at")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: "Leave this as it is" where ``None`` is a value of its own (no site, no asset group).
KEEP: Any = _Keep()


def _fields(device: Device, names: tuple[str, ...] = AUDITED_FIELDS) -> dict[str, Any]:
    return {name: getattr(device, name) for name in names}


def _site(actor: Principal, tenant_id: int, site_id: int | None) -> Site | None:
    """The tenant's site ``site_id`` as the actor sees it (a provider: its engagement's
    sites); None stays None. A site of another tenant reads as one that does not exist."""
    if site_id is None:
        return None
    found = visible(actor, "tenancy.view_site", Site.objects.filter(tenant_id=tenant_id))
    site = found.filter(pk=site_id).first()
    require(site is not None, "site_id", NO_SUCH_SITE)
    return site


def _group(actor: Principal, tenant_id: int, group_id: int | None) -> AssetGroup | None:
    if group_id is None:
        return None
    found = visible(
        actor, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant_id)
    )
    group = found.filter(pk=group_id).first()
    require(group is not None, "asset_group_id", NO_SUCH_GROUP)
    return group


def _check_placement(site: Site | None, group: AssetGroup | None) -> None:
    """An asset group at one site holds devices of that site only."""
    if group is None or group.site_id is None:
        return
    require(
        site is not None and site.pk == group.site_id,
        "asset_group_id",
        f"{group.name} is an asset group of another site: place the device at its site.",
    )


def _identity(values: dict[str, str]) -> dict[str, str]:
    return {
        field: clean_text(values.get(field, ""), field=field, max_length=limit)
        for field, limit in IDENTITY_LIMITS.items()
    }


def register_device(
    *,
    actor: Principal,
    tenant: Tenant,
    site: Site | None = None,
    asset_group: AssetGroup | None = None,
    name: str = "",
    hostname: str = "",
    hardware_id: str = "",
    serial_number: str = "",
    os_family: str = OsFamily.OTHER,
    os_name: str = "",
    os_version: str = "",
    kernel: str = "",
    architecture: str = "",
    enrolled_at: dt.datetime | None = None,
    replace_existing: bool = False,
) -> Device:
    """Register a device of ``tenant`` (an agent's enrolment), placed at ``site`` and in
    ``asset_group`` when given (both the tenant's, the group of that site).

    A device whose ``hardware_id`` is already enrolled in the tenant is refused, unless
    ``replace_existing``: then that device is re-enrolled (its identity refreshed, active
    again, ``enrolled_at`` moved), keeping its history and tickets. The caller decides which
    (an enrolment token that allows re-enrolment); nothing here replaces a device silently.
    The new device must lie inside the actor's scope, so a provider's enrolment cannot place
    a device where it could not see it.
    """
    authorize(actor, CHANGE_DEVICE, tenant)
    identity = _identity(
        {
            "hostname": hostname,
            "hardware_id": hardware_id,
            "serial_number": serial_number,
            "os_name": os_name,
            "os_version": os_version,
            "kernel": kernel,
            "architecture": architecture,
        }
    )
    require(os_family in OsFamily.values, "os_family", f"One of: {', '.join(OsFamily.values)}.")
    shown = clean_text(name, field="name", max_length=200) or identity["hostname"]
    require(bool(shown), "name", "Name the device, or report its hostname.")
    for field, given in (("site_id", site), ("asset_group_id", asset_group)):
        require(given is None or given.tenant_id == tenant.pk, field, "Not of this tenant.")
    _check_placement(site, asset_group)
    when = enrolled_at or timezone.now()
    with transaction.atomic(), within_tenant(tenant.pk):
        existing = None
        if identity["hardware_id"]:
            existing = (
                Device.objects.select_for_update()
                .filter(tenant=tenant, hardware_id=identity["hardware_id"])
                .first()
            )
            require(existing is None or replace_existing, "hardware_id", DUPLICATE_HARDWARE_ID)
        values = {
            **identity,
            "name": shown,
            "os_family": os_family,
            "site": site,
            "asset_group": asset_group,
            "status": DeviceStatus.ACTIVE,
            "enrolled_at": when,
        }
        before: dict[str, Any] = {}
        if existing is not None:
            before = _fields(existing, ENROLMENT_FIELDS)
            device = existing
            for field, value in values.items():
                setattr(device, field, value)
            device.save()
        else:
            try:
                with transaction.atomic():
                    device = Device.objects.create(tenant=tenant, **values)
            except IntegrityError as exc:  # a concurrent enrolment of the same hardware
                raise InvalidInput({"hardware_id": [DUPLICATE_HARDWARE_ID]}) from exc
        if not allowed(actor, CHANGE_DEVICE, device):
            raise InvalidInput({"site_id": ["Outside what you may place devices in."]})
        changes = diff(before, _fields(device, ENROLMENT_FIELDS))
        record_audit(
            actor=actor,
            action="assets.reenrol_device" if existing else "assets.register_device",
            target=device,
            tenant_id=tenant.pk,
            changes=changes,
        )
        events.device_enrolled(actor=actor, device=device, reenrolled=existing is not None)
    return device


def update_device(
    *,
    actor: Principal,
    device: Device,
    name: Any = KEEP,
    site_id: Any = KEEP,
    asset_group_id: Any = KEEP,
    protected: Any = KEEP,
) -> Device:
    """Rename, place (site and asset group, each may be cleared with None) or protect a
    device. Changing ``protected`` is the tenant's own IT's (``PROTECT_DEVICE``); a provider
    may place a device only inside its engagement's scope."""
    authorize(actor, CHANGE_DEVICE, device)
    require(protected is KEEP or isinstance(protected, bool), "protected", "Say true or false.")
    if protected is not KEEP and protected != device.protected:
        authorize(actor, PROTECT_DEVICE, device)
    tenant_id = device.tenant_id
    with transaction.atomic(), within_tenant(tenant_id):
        device = Device.objects.select_for_update().get(pk=device.pk)
        require(device.status == DeviceStatus.ACTIVE, "status", "This device is retired.")
        before = _fields(device)
        if name is not KEEP:
            cleaned = clean_text(name, field="name", max_length=200)
            require(bool(cleaned), "name", "Name the device.")
            device.name = cleaned
        site = device.site if site_id is KEEP else _site(actor, tenant_id, site_id)
        group = (
            device.asset_group
            if asset_group_id is KEEP
            else _group(actor, tenant_id, asset_group_id)
        )
        if site_id is not KEEP or asset_group_id is not KEEP:
            _check_placement(site, group)
        device.site, device.asset_group = site, group
        if protected is not KEEP:
            device.protected = bool(protected)
        changes = diff(before, _fields(device))
        if not changes:
            return device
        device.save()
        if not allowed(actor, CHANGE_DEVICE, device):
            # A provider moving a device out of its own scope: it would lose the device.
            raise InvalidInput({"site_id": ["Outside what you may place devices in."]})
        record_audit(
            actor=actor,
            action="assets.change_device",
            target=device,
            tenant_id=tenant_id,
            changes=changes,
        )
        events.device_updated(actor=actor, device=device, fields=list(changes))
    return device


def retire_device(*, actor: Principal, device: Device) -> Device:
    """Take a device out of service. It keeps its history and ticket links; its agent's
    credential is the agents app's to revoke (a subscriber of ``device.retired``)."""
    authorize(actor, CHANGE_DEVICE, device)
    with transaction.atomic(), within_tenant(device.tenant_id):
        device = Device.objects.select_for_update().get(pk=device.pk)
        require(device.status == DeviceStatus.ACTIVE, "status", "This device is retired already.")
        before = _fields(device)
        device.status = DeviceStatus.RETIRED
        device.save(update_fields=["status", "updated_at"])
        changes = diff(before, _fields(device))
        # A retired device is watched no more: its open offline episode ends with it.
        episode = end_episode_on_retirement(device=device, now=timezone.now())
        if episode is not None:
            changes["offline_since"] = [episode.started_at.isoformat(), None]
        record_audit(
            actor=actor,
            action="assets.retire_device",
            target=device,
            tenant_id=device.tenant_id,
            changes=changes,
        )
        events.device_retired(actor=actor, device=device)
    return device

"""API shapes of devices."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from tandem.assets.queries import DeviceFilter, connectivity
from tandem.core.api import Id, Input


class DeviceOut(Schema):
    id: int
    tenant_id: int
    site_id: int | None
    asset_group_id: int | None
    name: str
    hostname: str
    hardware_id: str
    serial_number: str
    os_family: str
    os_name: str
    os_version: str
    kernel: str
    architecture: str
    protected: bool
    status: str
    enrolled_at: dt.datetime
    last_seen_at: dt.datetime | None
    #: ``online``, ``offline`` or ``never`` (no check-in yet), against the offline threshold.
    connectivity: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_connectivity(obj: Any) -> str:
        return connectivity(obj)


class DeviceQuery(Schema):
    """The device list's filters (all optional)."""

    q: str | None = Field(
        default=None, max_length=100, description="Part of the hostname, name or serial number."
    )
    tenant_id: Id | None = None
    site_id: Id | None = None
    asset_group_id: Id | None = None
    os_family: Literal["linux", "windows", "macos", "other"] | None = None
    connectivity: Literal["online", "offline"] | None = Field(
        default=None,
        description="`offline`: no check-in within the offline threshold, or none yet.",
    )
    protected: bool | None = None
    status: Literal["active", "retired"] = "active"
    ordering: Literal["last_seen", "name"] = "last_seen"

    def as_filter(self) -> DeviceFilter:
        return DeviceFilter(
            q=self.q or "",
            tenant_id=self.tenant_id,
            site_id=self.site_id,
            asset_group_id=self.asset_group_id,
            os_family=self.os_family or "",
            connectivity=self.connectivity or "",
            protected=self.protected,
            status=self.status,
            ordering=self.ordering,
        )


class DevicePatch(Input):
    """What people change of a device; the rest is what its agent reports. ``site_id`` and
    ``asset_group_id`` may be null (no site, no group)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    site_id: Id | None = None
    asset_group_id: Id | None = None
    protected: bool | None = None


class OfflinePolicyOut(Schema):
    """A tenant's offline alert policy (``site_id`` null) or a site's override of it."""

    id: int
    tenant_id: int
    site_id: int | None
    enabled: bool
    minutes: int
    devices: str
    asset_group_id: int | None
    service_area_id: int | None
    impact: int
    urgency: int
    resolve_on_return: bool
    #: Whom the tickets name as requester: the person who last saved the policy.
    requester_id: int | None
    updated_at: dt.datetime


class OfflinePolicyIn(Input):
    """Set the tenant's policy (no ``site_id``) or a site's override. ``devices``: ``all``,
    ``protected`` or ``asset_group`` (then ``asset_group_id``)."""

    site_id: Id | None = None
    enabled: bool
    minutes: int = Field(ge=1, le=1_000_000)
    devices: Literal["all", "protected", "asset_group"] = "all"
    asset_group_id: Id | None = None
    service_area_id: Id | None = None
    impact: int = Field(default=2, ge=1, le=9)
    urgency: int = Field(default=2, ge=1, le=9)
    resolve_on_return: bool = True

"""What happens to devices, as domain events (decision 0022).

Recorded by ``assets.services`` in the transaction of the change. Nothing in Tandem
subscribes yet; webhooks may (a tenant's CMDB hears of every enrolment), and the agents and
patching apps will (a device moved to another site changes who approves its updates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.core.events import Event, event_type, record
from tandem.core.principal import Principal


@event_type
@dataclass(frozen=True, kw_only=True)
class DeviceEnrolled(Event):
    """A device was registered (enrolled by an agent, or re-enrolled: ``reenrolled``)."""

    type = "device.enrolled"
    device_id: int
    name: str
    site_id: int | None
    asset_group_id: int | None
    reenrolled: bool
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class DeviceUpdated(Event):
    """A device's name, placement or protection changed; ``fields`` names what changed."""

    type = "device.updated"
    device_id: int
    fields: list[str]
    protected: bool
    site_id: int | None
    asset_group_id: int | None
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class DeviceRetired(Event):
    """A device was taken out of service."""

    type = "device.retired"
    device_id: int
    actor_user_id: int | None
    actor_label: str


def _actor(actor: Principal) -> dict[str, Any]:
    return {"actor_user_id": actor.user_id, "actor_label": actor.label[:200]}


def device_enrolled(*, actor: Principal, device: Any, reenrolled: bool) -> None:
    """Record ``device.enrolled`` in the caller's transaction."""
    record(
        DeviceEnrolled(
            tenant_id=device.tenant_id,
            device_id=device.pk,
            name=device.name,
            site_id=device.site_id,
            asset_group_id=device.asset_group_id,
            reenrolled=reenrolled,
            **_actor(actor),
        )
    )


def device_updated(*, actor: Principal, device: Any, fields: list[str]) -> None:
    """Record ``device.updated`` in the caller's transaction."""
    record(
        DeviceUpdated(
            tenant_id=device.tenant_id,
            device_id=device.pk,
            fields=sorted(fields),
            protected=device.protected,
            site_id=device.site_id,
            asset_group_id=device.asset_group_id,
            **_actor(actor),
        )
    )


def device_retired(*, actor: Principal, device: Any) -> None:
    """Record ``device.retired`` in the caller's transaction."""
    record(DeviceRetired(tenant_id=device.tenant_id, device_id=device.pk, **_actor(actor)))

"""What happens to devices, as domain events (decision 0022).

Recorded by ``assets.services`` and ``assets.offline_services`` in the transaction of the
change. The desk subscribes to ``device.went_offline`` and ``device.came_back`` (it opens,
notes and resolves the offline ticket, decision 0032); webhooks may subscribe to any (a
tenant's CMDB hears of every enrolment).
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


@event_type
@dataclass(frozen=True, kw_only=True)
class DeviceWentOffline(Event):
    """A device passed its offline alert policy's minutes without a check-in: recorded once
    per offline episode (``episode_id``). The policy's ticket settings travel with the
    event, as they were when the device went, so the ticket opened from it cannot drift."""

    type = "device.went_offline"
    device_id: int
    episode_id: int
    name: str
    hostname: str
    site_id: int | None
    asset_group_id: int | None
    protected: bool
    #: The device's last check-in (ISO), or None when it never checked in.
    last_seen_at: str | None
    started_at: str
    policy_id: int
    minutes: int
    service_area_id: int | None
    impact: int
    urgency: int
    requester_id: int | None
    resolve_on_return: bool


@event_type
@dataclass(frozen=True, kw_only=True)
class DeviceCameBack(Event):
    """A device that went offline checked in again: the end of episode ``episode_id``."""

    type = "device.came_back"
    device_id: int
    episode_id: int
    name: str
    #: When the device was noticed gone, and the check-in that showed it back (ISO).
    offline_since: str
    seen_at: str
    resolve_on_return: bool


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


def device_went_offline(*, device: Any, episode: Any, policy: Any) -> None:
    """Record ``device.went_offline`` in the caller's transaction."""
    record(
        DeviceWentOffline(
            tenant_id=device.tenant_id,
            device_id=device.pk,
            episode_id=episode.pk,
            name=device.name,
            hostname=device.hostname,
            site_id=device.site_id,
            asset_group_id=device.asset_group_id,
            protected=device.protected,
            last_seen_at=episode.last_seen_at.isoformat() if episode.last_seen_at else None,
            started_at=episode.started_at.isoformat(),
            policy_id=policy.pk,
            minutes=policy.minutes,
            service_area_id=policy.service_area_id,
            impact=policy.impact,
            urgency=policy.urgency,
            requester_id=policy.requester_id,
            resolve_on_return=policy.resolve_on_return,
        )
    )


def device_came_back(*, device: Any, episode: Any, resolve_on_return: bool) -> None:
    """Record ``device.came_back`` in the caller's transaction."""
    record(
        DeviceCameBack(
            tenant_id=device.tenant_id,
            device_id=device.pk,
            episode_id=episode.pk,
            name=device.name,
            offline_since=episode.started_at.isoformat(),
            seen_at=episode.back_seen_at.isoformat(),
            resolve_on_return=resolve_on_return,
        )
    )

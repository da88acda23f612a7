"""What the agents app tells other apps, as domain events (decision 0022).

``device.pending_updates_changed`` is recorded by the check-in (``checkin_services``) only
when the set of updates a device's package manager offers changed, in the check-in's
transaction: one INSERT on the hot path, and none for a heartbeat or an unchanged
inventory. The patching app subscribes and brings the device's update states in step.

``device.reboot_pending_changed`` is recorded by the check-in when the agent's pending-reboot
fact changes (rare: an install asked for a reboot, or the reboot happened). Patching
subscribes: reboot debt is one of its compliance figures (decision 0048).
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.core.events import Event, event_type, record


@event_type
@dataclass(frozen=True, kw_only=True)
class PendingUpdatesChanged(Event):
    """The updates offered to a device changed (added, removed or at a new version);
    ``pending_count`` is how many are offered now."""

    type = "device.pending_updates_changed"
    device_id: int
    pending_count: int


def pending_updates_changed(*, tenant_id: int, device_id: int, pending_count: int) -> None:
    """Record ``device.pending_updates_changed`` in the caller's transaction."""
    record(
        PendingUpdatesChanged(tenant_id=tenant_id, device_id=device_id, pending_count=pending_count)
    )


@event_type
@dataclass(frozen=True, kw_only=True)
class RebootPendingChanged(Event):
    """The device's agent now reports a pending reboot (``pending`` true), none (false), or
    no longer says (None)."""

    type = "device.reboot_pending_changed"
    device_id: int
    pending: bool | None


def reboot_pending_changed(*, tenant_id: int, device_id: int, pending: bool | None) -> None:
    """Record ``device.reboot_pending_changed`` in the caller's transaction."""
    record(RebootPendingChanged(tenant_id=tenant_id, device_id=device_id, pending=pending))

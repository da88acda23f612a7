"""Patching's subscribers to domain events (decision 0022)."""

from __future__ import annotations

from tandem.agents.events import PendingUpdatesChanged
from tandem.core.events import Envelope, subscriber
from tandem.core.principal import system_principal
from tandem.patching import services


@subscriber(PendingUpdatesChanged.type)
def sync_after_check_in(event: PendingUpdatesChanged, envelope: Envelope) -> None:
    """A device's offered updates changed: bring its update states in step (in the worker,
    off the check-in's hot path). Idempotent: a second run finds nothing to change."""
    services.sync_device_updates(
        actor=system_principal("patching: pending updates changed"),
        device_id=event.device_id,
        now=envelope.occurred_at,
    )

"""The vulnerabilities app's subscribers to domain events (decision 0022)."""

from __future__ import annotations

from tandem.agents.events import PendingUpdatesChanged
from tandem.core.events import Envelope, subscriber
from tandem.core.principal import system_principal
from tandem.vulnerabilities import services


@subscriber(PendingUpdatesChanged.type)
def match_after_check_in(event: PendingUpdatesChanged, envelope: Envelope) -> None:
    """A device's offered updates changed, which an install or an upgrade does too: match
    its software again now (in the worker) rather than at the next periodic run, which
    still catches inventory changes that move no pending update. Idempotent."""
    services.match_device(
        actor=system_principal("vulnerabilities: pending updates changed"),
        device_id=event.device_id,
        now=envelope.occurred_at,
    )

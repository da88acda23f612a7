"""What patching tells other apps, as domain events (decision 0022).

``patching.updates_decided`` is recorded by ``services.decide_updates`` in the decision's
transaction: a webhook (a provider's ticketing, a change calendar) hears who approved or
rejected which updates on which device, for which party.
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.core.events import Event, event_type, record


@event_type
@dataclass(frozen=True, kw_only=True)
class UpdatesDecided(Event):
    """Updates on a device were approved (``approved`` true) or rejected by a person."""

    type = "patching.updates_decided"
    device_id: int
    entry_ids: list[int]
    approved: bool
    party_id: int
    actor_user_id: int | None
    actor_label: str


def updates_decided(
    *,
    tenant_id: int,
    device_id: int,
    entry_ids: list[int],
    approved: bool,
    party_id: int,
    actor_user_id: int | None,
    actor_label: str,
) -> None:
    """Record ``patching.updates_decided`` in the caller's transaction."""
    record(
        UpdatesDecided(
            tenant_id=tenant_id,
            device_id=device_id,
            entry_ids=sorted(entry_ids),
            approved=approved,
            party_id=party_id,
            actor_user_id=actor_user_id,
            actor_label=actor_label[:200],
        )
    )

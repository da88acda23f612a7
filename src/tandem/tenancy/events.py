"""What happens to engagements, as domain events (decision 0022): a provider's mandate in a
tenant was accepted, suspended, resumed or ended. Recorded by ``tenancy.services`` in the
transaction of the change; a tenant's webhooks may subscribe to any of them."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.core.events import Event, event_type


@dataclass(frozen=True, kw_only=True)
class _EngagementEvent(Event):
    engagement_id: int
    provider_id: int
    #: The engagement's status afterwards (``active``, ``pending``, ``suspended``, ``ended``).
    status: str
    reason: str
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class EngagementAccepted(_EngagementEvent):
    """The provider accepted the tenant's engagement: its people may work now."""

    type = "engagement.accepted"


@event_type
@dataclass(frozen=True, kw_only=True)
class EngagementSuspended(_EngagementEvent):
    """The provider's access was suspended (resumable)."""

    type = "engagement.suspended"


@event_type
@dataclass(frozen=True, kw_only=True)
class EngagementResumed(_EngagementEvent):
    """A suspension was lifted (back to active, or pending if never accepted)."""

    type = "engagement.resumed"


@event_type
@dataclass(frozen=True, kw_only=True)
class EngagementEnded(_EngagementEvent):
    """The mandate ended for good."""

    type = "engagement.ended"

"""What happens to alerts, as domain events (decision 0022, 0037).

Recorded by ``alerts.services`` in the transaction of the change. The desk subscribes:
``alert.raised`` opens the alert's one ticket, routed by the responsibility matrix;
``alert.updated`` adds a note (recorded at most every :data:`UPDATE_NOTICE_MINUTES` per
alert, so a noisy rule does not write a note per detection); ``alert.resolved`` notes the
outcome and, when asked, resolves the ticket. Webhooks may subscribe to any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.core.events import Event, event_type, record
from tandem.core.principal import Principal

#: The least time between two ``alert.updated`` of one alert.
UPDATE_NOTICE_MINUTES = 10


@event_type
@dataclass(frozen=True, kw_only=True)
class AlertRaised(Event):
    """A new alert: the first detection of a rule, host and key fields (or the first after
    the last alert of them was closed or went past its window)."""

    type = "alert.raised"
    alert_id: int
    rule_id: str
    rule_title: str
    severity: str
    host: str
    device_id: int | None
    site_id: int | None
    asset_group_id: int | None
    service_area_id: int | None
    tactics: list[str]
    techniques: list[str]
    first_seen: str
    last_seen: str
    event_count: int
    #: When Tandem raised it (ISO): the hour whose party gets the ticket.
    raised_at: str


@event_type
@dataclass(frozen=True, kw_only=True)
class AlertUpdated(Event):
    """More detections joined an open alert (at most one such event every few minutes)."""

    type = "alert.updated"
    alert_id: int
    event_count: int
    first_seen: str
    last_seen: str


@event_type
@dataclass(frozen=True, kw_only=True)
class AlertResolved(Event):
    """An alert was resolved or marked a false positive (``outcome``); ``resolve_ticket``
    asks the desk to resolve its ticket too."""

    type = "alert.resolved"
    alert_id: int
    outcome: str
    reason: str
    resolve_ticket: bool
    actor_user_id: int | None
    actor_label: str


def _times(alert: Any) -> dict[str, Any]:
    return {
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "event_count": alert.event_count,
    }


def alert_raised(*, alert: Any, site_id: int | None, asset_group_id: int | None) -> None:
    """Record ``alert.raised`` in the caller's transaction."""
    record(
        AlertRaised(
            tenant_id=alert.tenant_id,
            alert_id=alert.pk,
            rule_id=alert.rule_id,
            rule_title=alert.rule_title,
            severity=alert.severity,
            host=alert.host,
            device_id=alert.device_id,
            site_id=site_id,
            asset_group_id=asset_group_id,
            service_area_id=alert.service_area_id,
            tactics=list(alert.tactics),
            techniques=list(alert.techniques),
            raised_at=alert.raised_at.isoformat(),
            **_times(alert),
        )
    )


def alert_updated(*, alert: Any) -> None:
    """Record ``alert.updated`` in the caller's transaction."""
    record(AlertUpdated(tenant_id=alert.tenant_id, alert_id=alert.pk, **_times(alert)))


def alert_resolved(*, actor: Principal, alert: Any, resolve_ticket: bool) -> None:
    """Record ``alert.resolved`` in the caller's transaction."""
    record(
        AlertResolved(
            tenant_id=alert.tenant_id,
            alert_id=alert.pk,
            outcome=alert.status,
            reason=alert.reason,
            resolve_ticket=resolve_ticket,
            actor_user_id=actor.user_id,
            actor_label=actor.label[:200],
        )
    )

"""The desk's side of security alerts (decision 0037): a raised alert opens one ticket,
routed by the responsibility matrix's security monitoring area to the party covering the
hour the alert was raised; its updates add a note (the alerts app records ``alert.updated``
at most every few minutes); its resolution notes the outcome and, when asked, resolves
the ticket.

Called by the desk's subscribers, in the worker, with the system's principal: the ticket is
opened through ``create_ticket`` (routing, SLA clocks, ``ticket.opened``, audit), notes and
the resolution through ``add_comment`` and ``change_status``, as for offline alerts
(``offline_services``). The alert's row, locked while its ticket is opened and linked,
makes a retried event open nothing twice.

The requester is the system's own *Security monitoring* account (inactive, never mailed):
the alert was raised by Tandem, not asked for by a person, and nobody's inbox should fill
with the acknowledgements of alert tickets.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from tandem.accounts.services import ensure_system_account
from tandem.alerts import services as alert_services
from tandem.alerts.events import AlertRaised, AlertResolved, AlertUpdated
from tandem.alerts.models import Alert
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.servicedesk import desk_config
from tandem.servicedesk.choices import DONE_KINDS, TicketSource, Via, Visibility
from tandem.servicedesk.tickets import note_services
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Tenant

#: The system account that requests alert tickets.
REQUESTER_KEY = "security-monitoring"
REQUESTER_NAME = "Tandem security monitoring"
#: (impact, urgency) per severity, 1 the highest; a smaller matrix takes its last level.
LEVELS: dict[str, tuple[int, int]] = {
    "critical": (1, 1),
    "high": (1, 2),
    "medium": (2, 2),
    "low": (3, 3),
    "informational": (4, 4),
}


def _actor() -> Principal:
    return system_principal("security alert")


def _when(value: str) -> str:
    return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()


def _describe(event: AlertRaised) -> str:
    lines = [
        f"The rule \u201c{event.rule_title}\u201d matched on {event.host or 'an unknown host'}.",
        "",
        f"Severity: {event.severity}",
        f"Rule: {event.rule_id}",
        f"Host: {event.host or 'unknown'}",
        f"First seen: {_when(event.first_seen)}",
        f"Events so far: {event.event_count}",
    ]
    if event.tactics:
        lines.append(f"ATT&CK tactics: {', '.join(event.tactics)}")
    if event.techniques:
        lines.append(f"ATT&CK techniques: {', '.join(event.techniques)}")
    lines += [
        f"Alert page: /alerts/{event.alert_id}/",
        "",
        "This ticket was opened by Tandem. Further detections of the same rule on this host "
        "add notes; resolving the alert can resolve this ticket.",
    ]
    return "\n".join(lines)


def open_alert_ticket(event: AlertRaised) -> Ticket | None:
    """Open the alert's one ticket, routed by the matrix (the tenant's security monitoring
    area, the device's site and asset group, the priority from the severity) as of now,
    linked to the device when known. Returns None when the alert has
    its ticket already (a retried event) or is gone."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    actor = _actor()
    with system_context("open a security alert ticket"):
        tenant = Tenant.objects.get(pk=tenant_id)
        requester = ensure_system_account(actor=actor, key=REQUESTER_KEY, full_name=REQUESTER_NAME)
    impact, urgency = LEVELS.get(event.severity, LEVELS["medium"])
    with transaction.atomic(), within_tenant(tenant_id):
        matrix = desk_config.current(tenant_id).priority_matrix
        alert = alert_services.lock_alert_for_ticket(tenant_id=tenant_id, alert_id=event.alert_id)
        if alert is None:
            return None
        ticket = ticket_services.create_ticket(
            actor=actor,
            tenant=tenant,
            requester=requester,
            subject=f"Security alert: {event.rule_title} on {event.host or 'unknown host'}"[:200],
            description=_describe(event),
            service_area_id=event.service_area_id,
            impact=min(impact, len(matrix.impacts)),
            urgency=min(urgency, len(matrix.urgencies)),
            site_id=event.site_id,
            asset_group_id=event.asset_group_id,
            via=Via.API,
            source=TicketSource.MONITORING,
            device_ids=[event.device_id] if event.device_id else [],
            # Opened now, not backdated to the alert's raising (decision 0046): its SLA
            # clocks start when the ticket exists, and the party covering this hour, the
            # one that must act on it, takes it.
        )
        alert_services.link_alert_ticket(actor=actor, alert=alert, ticket_id=ticket.pk)
    return ticket


def _ticket_of(tenant_id: int, alert_id: int) -> Ticket | None:
    with within_tenant(tenant_id):
        ticket_id = Alert.objects.filter(pk=alert_id).values_list("ticket_id", flat=True).first()
        if ticket_id is None:
            return None
        return Ticket.objects.filter(pk=ticket_id).first()


def note_alert_update(event: AlertUpdated) -> Ticket | None:
    """Tell the alert's ticket how many events it counts now (the alerts app throttles)."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    ticket = _ticket_of(tenant_id, event.alert_id)
    if ticket is None:
        return None
    with transaction.atomic(), within_tenant(tenant_id):
        note_services.add_comment(
            actor=_actor(),
            ticket=ticket,
            body=(
                f"The alert now counts {event.event_count} events "
                f"(first {_when(event.first_seen)}, latest {_when(event.last_seen)})."
            ),
            visibility=Visibility.SHARED,
            via=Via.API,
        )
    return ticket


def note_alert_resolved(event: AlertResolved) -> Ticket | None:
    """Note the alert's outcome on its ticket and, when asked, resolve the ticket (unless
    it is done already)."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    ticket = _ticket_of(tenant_id, event.alert_id)
    if ticket is None:
        return None
    actor = _actor()
    outcome = "a false positive" if event.outcome == "false_positive" else "resolved"
    body = f"The alert was marked {outcome} by {event.actor_label}."
    if event.reason:
        body += f"\n\n{event.reason}"
    with transaction.atomic(), within_tenant(tenant_id):
        note_services.add_comment(
            actor=actor, ticket=ticket, body=body, visibility=Visibility.SHARED, via=Via.API
        )
        ticket.refresh_from_db()
        config = desk_config.current(tenant_id)
        status = config.resolved_status
        if (
            event.resolve_ticket
            and status is not None
            and config.status_kinds.get(ticket.status) not in DONE_KINDS
        ):
            ticket_services.change_status(actor=actor, ticket=ticket, status=status)
    return ticket

"""The desk's own subscribers to domain events (decision 0022): mail to requesters, and
open tickets' clocks after the responsibility matrix's coverage changed, and the ticket of
a device gone offline (decision 0032), and the ticket of a security alert (decision 0037)."""

from __future__ import annotations

from django.db import transaction

from tandem.alerts.events import AlertRaised, AlertResolved, AlertUpdated
from tandem.assets.events import DeviceCameBack, DeviceWentOffline
from tandem.core.events import Envelope, subscriber
from tandem.responsibility.events import CoverageChanged
from tandem.servicedesk.events import NoteAdded, TicketOpened, TicketResolved
from tandem.servicedesk.mail import outbound
from tandem.servicedesk.tasks import recompute_tenant_sla_task
from tandem.servicedesk.tickets import alert_services, offline_services


@subscriber(TicketOpened.type, TicketResolved.type, NoteAdded.type)
def requester_mail(event: TicketOpened | TicketResolved | NoteAdded, envelope: Envelope) -> None:
    """Acknowledge, announce the resolution of, or pass IT's public reply on to the
    requester: the mail row is written with this subscriber's mark, so it is due once."""
    outbound.queue_requester_mail(event)


@subscriber(CoverageChanged.type, inline=True)
def recompute_after_coverage_change(event: CoverageChanged, envelope: Envelope) -> None:
    """Who is on duty when decides a party's SLA calendar (its first coverage calendar when
    it has no SLA policy): recompute the tenant's open tickets in the worker, once this
    subscriber's mark has committed. Enqueuing twice recomputes twice, harmlessly."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    transaction.on_commit(lambda: recompute_tenant_sla_task.enqueue(tenant_id))


@subscriber(DeviceWentOffline.type)
def offline_ticket(event: DeviceWentOffline, envelope: Envelope) -> None:
    """A device went offline under its policy: open its one ticket, routed by the matrix
    (in the worker: routing and the SLA clocks are a ticket's full opening)."""
    offline_services.open_offline_ticket(event)


@subscriber(DeviceCameBack.type)
def offline_device_back(event: DeviceCameBack, envelope: Envelope) -> None:
    """The device checked in again: a note on its ticket and, per policy, the resolution."""
    offline_services.note_device_back(event)


@subscriber(AlertRaised.type)
def alert_ticket(event: AlertRaised, envelope: Envelope) -> None:
    """A security alert was raised: open its one ticket, routed by the matrix to the party
    covering the hour (in the worker, like any ticket's full opening)."""
    alert_services.open_alert_ticket(event)


@subscriber(AlertUpdated.type)
def alert_ticket_update(event: AlertUpdated, envelope: Envelope) -> None:
    """More detections joined the alert: a note on its ticket (throttled at the source)."""
    alert_services.note_alert_update(event)


@subscriber(AlertResolved.type)
def alert_ticket_resolved(event: AlertResolved, envelope: Envelope) -> None:
    """The alert was closed: a note on its ticket and, when asked, the resolution."""
    alert_services.note_alert_resolved(event)

"""The desk's own subscribers to domain events (decision 0022): mail to requesters, and
open tickets' clocks after the responsibility matrix's coverage changed."""

from __future__ import annotations

from django.db import transaction

from tandem.core.events import Envelope, subscriber
from tandem.responsibility.events import CoverageChanged
from tandem.servicedesk.events import NoteAdded, TicketOpened, TicketResolved
from tandem.servicedesk.mail import outbound
from tandem.servicedesk.tasks import recompute_tenant_sla_task


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

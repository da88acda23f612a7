"""Reads of the service desk: tickets through their policy, notes through their tier."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.models import Attachment, Comment, Ticket, TicketEvent


def tickets(principal: Principal) -> QuerySet[Ticket]:
    """Tickets the principal may see, ready for a queue page (no per-row queries)."""
    return visible(principal, "servicedesk.view_ticket", Ticket.objects.all()).select_related(
        "party", "assignee", "requester", "service_area", "tenant"
    )


def ticket(principal: Principal, ticket_id: int) -> Ticket:
    return get_visible_or_404(
        principal,
        "servicedesk.view_ticket",
        Ticket.objects.select_related("tenant", "party"),
        pk=ticket_id,
    )


def involved_party_ids(ticket: Ticket) -> set[int]:
    """Parties that hold or have held the ticket: "the parties involved in the record"."""
    held = set(TicketEvent.objects.filter(ticket=ticket).values_list("party_id", flat=True))
    return held | {ticket.party_id}


def note_tiers(principal: Principal, ticket: Ticket) -> Q:
    """Which notes of ``ticket`` the principal may read.

    Party-private: the author's party only. IT-shared: the tenant's internal IT and the
    provider parties involved in the ticket. Public: also the requester.
    """
    allowed = Q(visibility=Visibility.PUBLIC)
    involved = involved_party_ids(ticket)
    for access in principal.accesses_with("servicedesk.view_ticket", ticket.tenant_id):
        if access.party_id is None:
            continue  # a requester: public notes only
        allowed |= Q(visibility=Visibility.PRIVATE, party_id=access.party_id)
        if access.provider_id is None or access.party_id in involved:
            allowed |= Q(visibility=Visibility.SHARED)
    return allowed


def comments(principal: Principal, ticket: Ticket) -> QuerySet[Comment]:
    return Comment.objects.filter(ticket=ticket).filter(note_tiers(principal, ticket))


def attachments(principal: Principal, ticket: Ticket) -> QuerySet[Attachment]:
    return Attachment.objects.filter(ticket=ticket).filter(note_tiers(principal, ticket))

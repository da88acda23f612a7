"""Writes on the queue: saved views and bulk changes. Keyword-only, actor first, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404

from tandem.accounts.models import User
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.validation import clean_name, clean_text
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets.models import (
    Ticket,
)
from tandem.servicedesk.tickets.services import assign_ticket, change_status, reprioritise_ticket

#: The filters a saved view may hold, and their types (anything else is dropped).
SAVED_VIEW_FILTERS: dict[str, type] = {
    "scope": str,
    "tenant_id": int,
    "status": str,
    "priority": int,
    "party_id": int,
    "assignee_id": int,
    "service_area_id": int,
    "sla": str,
    "q": str,
}


#: Most tickets one bulk change may touch: enough for a queue page, small enough to keep the
#: all-or-nothing transaction (and its row locks) short.
MAX_BULK_TICKETS = 200
BULK_ACTIONS = ("assign", "status", "priority")
MAX_SAVED_VIEWS = 50


def _clean_view_filters(filters: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, kind in SAVED_VIEW_FILTERS.items():
        value = filters.get(key)
        if value in (None, ""):
            continue
        try:
            cleaned[key] = kind(value)
        except (TypeError, ValueError):
            raise InvalidInput({key: ["Not a valid value."]}) from None
        if kind is str:
            cleaned[key] = clean_text(cleaned[key], field=key, max_length=100)
    return cleaned


def create_saved_view(*, actor: Principal, name: str, filters: dict[str, Any]) -> SavedView:
    """Save the actor's current queue filters under a name, for the actor alone.

    Only the filters are stored, never tickets: opening the view runs them again through
    the actor's access of that moment."""
    owner_id = actor.user_id
    if owner_id is None:
        raise InvalidInput({"name": ["Sign in to save a view."]})
    name = clean_name(name, field="name", max_length=100)
    cleaned = _clean_view_filters(filters)
    with transaction.atomic():
        mine = SavedView.objects.select_for_update().filter(owner_id=owner_id)
        if mine.filter(name=name).exists():
            raise Conflict(f"You already have a view named {name!r}.")
        require(
            mine.count() < MAX_SAVED_VIEWS,
            "name",
            f"You have {MAX_SAVED_VIEWS} saved views; delete one first.",
        )
        view = SavedView.objects.create(owner_id=owner_id, name=name, filters=cleaned)
        record_audit(
            actor=actor,
            action="servicedesk.create_saved_view",
            target=view,
            tenant_id=None,
            changes=diff({}, {"name": name, "filters": cleaned}),
        )
    return view


def delete_saved_view(*, actor: Principal, view: SavedView) -> None:
    """Delete one of the actor's own saved views."""

    if view.owner_id != actor.user_id:
        raise Http404("no such saved view")  # personal: someone else's does not exist
    with transaction.atomic():
        record_audit(
            actor=actor,
            action="servicedesk.delete_saved_view",
            target=view,
            tenant_id=None,
            changes={"name": [view.name, None]},
        )
        view.delete()


def bulk_update_tickets(
    *,
    actor: Principal,
    tickets: list[Ticket],
    action: str,
    assignee: User | None = None,
    status: str | None = None,
    impact: int | None = None,
    urgency: int | None = None,
) -> list[Ticket]:
    """Assign, move or reprioritise many tickets at once: all of them, or none.

    Each ticket goes through the same service as a single change (``assign_ticket``,
    ``change_status``, ``reprioritise_ticket``), so each is authorised, audited and has its
    SLA recomputed. Every ticket is authorised before anything is written, and the whole
    batch runs in one transaction: one refusal or invalid value rolls back every ticket.
    A ticket already in the requested status is left alone rather than failing the batch.
    """
    require(action in BULK_ACTIONS, "action", f"Use one of: {', '.join(BULK_ACTIONS)}.")
    require(bool(tickets), "ticket_ids", "Choose at least one ticket.")
    require(
        len(tickets) <= MAX_BULK_TICKETS,
        "ticket_ids",
        f"Choose at most {MAX_BULK_TICKETS} tickets.",
    )
    if action == "status":
        require(bool(status), "status", "Choose a status.")
    if action == "priority":
        require(impact is not None or urgency is not None, "impact", "Choose impact or urgency.")
    for ticket in tickets:
        authorize(actor, "servicedesk.change_ticket", ticket)
    with transaction.atomic():
        for ticket in tickets:
            if action == "assign":
                assign_ticket(actor=actor, ticket=ticket, assignee=assignee)
            elif action == "status":
                if ticket.status != status:
                    change_status(actor=actor, ticket=ticket, status=str(status))
            else:
                reprioritise_ticket(actor=actor, ticket=ticket, impact=impact, urgency=urgency)
    return tickets

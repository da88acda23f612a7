"""Writes that tie tickets together or to people: merge, parent, tags and watchers.
Keyword-only, actor first, one transaction, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_name
from tandem.servicedesk.choices import (
    EventKind,
    StatusKind,
)
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.sla_bridge import recompute_sla
from tandem.servicedesk.tickets.models import (
    Ticket,
)
from tandem.servicedesk.tickets.services import MAX_TAGS, _event

# --- Merge, parent and child, tags, watchers ---------------------------------------------------
# (Appended as a block.) Links and tags change what the ticket is, so they are written to its
# history with the existing event kinds where one fits ("merged"), otherwise as a plain
# change event whose detail says what happened (the SLA clock reads those as no-ops).

LINKED = "linked"
TAGGED = "tagged"


def _closed_status(tenant_id: int) -> str:
    for key, _name, kind in desk_settings(tenant_id).statuses:
        if kind == StatusKind.CLOSED:
            return str(key)
    raise Conflict("The workflow has no closed status to close a merged ticket with.")


def check_merge(*, actor: Principal, ticket: Ticket, into: Ticket) -> None:
    """Refuse what :func:`merge_ticket` would refuse, writing nothing: the ticket page asks
    this before its confirmation step, so nobody confirms a merge that cannot happen."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    require(into.tenant_id == ticket.tenant_id, "into_id", "Not a ticket of this tenant.")
    authorize(actor, "servicedesk.change_ticket", into)
    require(into.pk != ticket.pk, "into_id", "A ticket cannot be merged into itself.")
    if ticket.merged_into_id is not None:
        raise Conflict(f"#{ticket.number} is already merged.")
    if into.merged_into_id is not None:
        raise Conflict(f"#{into.number} is itself merged into another ticket.")


def merge_ticket(
    *, actor: Principal, ticket: Ticket, into: Ticket, now: dt.datetime | None = None
) -> Ticket:
    """Merge ``ticket`` into ``into``: it keeps its notes and files, points at ``into``, is
    closed, and both tickets' histories say so. Both must be workable by the actor and in
    the same tenant; a ticket is never merged into itself or into a merged ticket."""
    check_merge(actor=actor, ticket=ticket, into=into)
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        before = {"status": ticket.status, "merged_into_id": None}
        closed = _closed_status(ticket.tenant_id)
        ticket.merged_into = into
        ticket.status = closed
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = now
        ticket.save()
        reason = f"Merged into #{into.number}."
        _event(ticket, EventKind.MERGED, actor, now, reason=reason, into_id=into.pk)
        _event(
            into,
            EventKind.MERGED,
            actor,
            now,
            reason=f"#{ticket.number} was merged into this ticket.",
            merged_id=ticket.pk,
        )
        recompute_sla(ticket, now=now)
        recompute_sla(into, now=now)
        record_audit(
            actor=actor,
            action="servicedesk.merge_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff(before, {"status": closed, "merged_into_id": into.pk}),
        )
    return ticket


def link_parent(
    *, actor: Principal, ticket: Ticket, parent: Ticket | None, now: dt.datetime | None = None
) -> Ticket:
    """Make ``ticket`` a child of ``parent`` (or of nothing). Same tenant, no cycles."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    if parent is not None:
        require(parent.tenant_id == ticket.tenant_id, "parent_id", "Not a ticket of this tenant.")
        require(parent.pk != ticket.pk, "parent_id", "A ticket cannot be its own parent.")
    if (parent.pk if parent else None) == ticket.parent_id:
        raise Conflict("The ticket already has this parent.")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        # Walk up from the new parent: meeting the ticket itself means a cycle.
        seen: set[int] = set()
        cursor = parent.pk if parent else None
        while cursor is not None and cursor not in seen:
            require(cursor != ticket.pk, "parent_id", "That would make a cycle of tickets.")
            seen.add(cursor)
            cursor = (
                Ticket.objects.filter(tenant_id=ticket.tenant_id, pk=cursor)
                .values_list("parent_id", flat=True)
                .first()
            )
        before = ticket.parent_id
        ticket.parent = parent
        ticket.save(update_fields=["parent", "updated_at"])
        reason = f"Now a child of #{parent.number}." if parent else "No longer a child ticket."
        _event(ticket, LINKED, actor, now, reason=reason, parent_id=ticket.parent_id)
        record_audit(
            actor=actor,
            action="servicedesk.link_parent",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"parent_id": [before, ticket.parent_id]},
        )
    return ticket


def set_tags(
    *, actor: Principal, ticket: Ticket, tags: Iterable[str], now: dt.datetime | None = None
) -> Ticket:
    """Replace the ticket's tags: trimmed, lower-cased, de-duplicated, at most 20."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    tag_list = sorted({clean_name(t, field="tags", max_length=40).lower() for t in tags})
    require(len(tag_list) <= MAX_TAGS, "tags", f"At most {MAX_TAGS} tags.")
    if tag_list == list(ticket.tags or []):
        raise Conflict("The ticket already has these tags.")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        before = list(ticket.tags or [])
        ticket.tags = tag_list
        ticket.save(update_fields=["tags", "updated_at"])
        shown = ", ".join(tag_list) or "none"
        _event(ticket, TAGGED, actor, now, reason=f"Tags: {shown}.", tags=tag_list)
        record_audit(
            actor=actor,
            action="servicedesk.set_tags",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"tags": [before, tag_list]},
        )
    return ticket


def _watch(actor: Principal, ticket: Ticket, *, on: bool) -> Ticket:
    # Watching is reading: whoever sees the ticket may follow it, for themselves only.
    authorize(actor, "servicedesk.view_ticket", ticket)
    user_id = actor.user_id
    require(user_id is not None, "user", "Only people watch tickets.")
    assert user_id is not None  # for the type checker: require raised otherwise
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        watching = ticket.watchers.filter(pk=user_id).exists()
        # A no-op is refused as input (422), like any request that would write nothing.
        require(
            watching != on,
            "ticket_id",
            "You already watch this ticket." if on else "You do not watch this ticket.",
        )
        if on:
            ticket.watchers.add(user_id)
        else:
            ticket.watchers.remove(user_id)
        record_audit(
            actor=actor,
            action="servicedesk.watch_ticket" if on else "servicedesk.unwatch_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"watcher_id": [None, actor.user_id] if on else [actor.user_id, None]},
        )
    return ticket


def watch_ticket(*, actor: Principal, ticket: Ticket) -> Ticket:
    """Follow a ticket (the actor themselves): its notifications go to them too."""
    return _watch(actor, ticket, on=True)


def unwatch_ticket(*, actor: Principal, ticket: Ticket) -> Ticket:
    """Stop following a ticket."""
    return _watch(actor, ticket, on=False)

"""What happens on the service desk, as domain events (decision 0022).

The desk records these in the transaction of the change (its services through the recorders
at the end of this module, and the SLA watcher, ``servicedesk.sla_alerts``); mail to
requesters, in-app notices, mail to IT people and webhooks subscribe to them. Plain values
only: the ids of what changed, who did it (``actor_user_id`` and ``actor_label``, as the
audit entry names them) and the facts a subscriber must not read later because they may have
changed since (a handoff's reason, the missed target's due time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.core.events import Event, event_type, record
from tandem.core.principal import Principal
from tandem.servicedesk.tickets.models import Comment, Handoff, Ticket


@event_type
@dataclass(frozen=True, kw_only=True)
class TicketOpened(Event):
    """A ticket was opened, however (portal, logged for a caller, e-mail, a follow-up)."""

    type = "ticket.opened"
    ticket_id: int
    number: int
    requester_id: int
    party_id: int | None
    priority: int


@event_type
@dataclass(frozen=True, kw_only=True)
class TicketAssigned(Event):
    """A ticket was given to a person (``assignee_id``), or to nobody (None)."""

    type = "ticket.assigned"
    ticket_id: int
    assignee_id: int | None
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class TicketHandedOff(Event):
    """A ticket moved from one party to another."""

    type = "ticket.handed_off"
    ticket_id: int
    handoff_id: int
    from_party_id: int | None
    to_party_id: int
    reason: str
    ping_pong: bool
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    """A note was added in one of the three tiers. ``public_reply`` says it is IT's public
    answer to the requester (what requesters are mailed about)."""

    type = "ticket.note_added"
    ticket_id: int
    comment_id: int
    visibility: str
    public_reply: bool
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class TicketReopened(Event):
    """The requester answered a done ticket: it opened again, or (``follow_up_id``) a
    follow-up ticket was opened because the reopen window had passed."""

    type = "ticket.reopened"
    ticket_id: int
    follow_up_id: int | None
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class TicketResolved(Event):
    """IT moved a ticket from an open status to a done one (resolved or closed)."""

    type = "ticket.resolved"
    ticket_id: int
    status: str


@dataclass(frozen=True, kw_only=True)
class _SlaEvent(Event):
    ticket_id: int
    party_id: int
    #: "first_response" or "resolution".
    metric: str
    #: ISO time: when the warning fell due, or the target that was missed.
    due_at: str
    #: ISO time of the target itself (equal to ``due_at`` for a breach).
    target_due_at: str


@event_type
@dataclass(frozen=True, kw_only=True)
class SlaWarning(_SlaEvent):
    """The holder party has used most of an SLA target's time (``SlaPolicy.warn_at_percent``)."""

    type = "sla.warning"


@event_type
@dataclass(frozen=True, kw_only=True)
class SlaBreached(_SlaEvent):
    """The holder party missed an SLA target."""

    type = "sla.breached"


# --- Recording: in the caller's transaction ----------------------------------------------------
#
# The desk's services call these inside their transaction; each records one event above.
# Mail to the requester is the desk's own subscriber (``servicedesk.subscribers``); notices,
# mail to IT people and webhooks are the notifications app's. The desk calls no notification
# code.


def _actor(actor: Principal) -> dict[str, Any]:
    return {"actor_user_id": actor.user_id, "actor_label": actor.label[:200]}


def note_added(comment: Comment, *, public_reply: bool) -> None:
    """A note was added (``ticket.note_added``); ``public_reply`` when it is IT's public
    answer to the requester. Called by ``services.add_comment`` inside its transaction."""
    record(
        NoteAdded(
            tenant_id=comment.tenant_id,
            ticket_id=comment.ticket_id,
            comment_id=comment.pk,
            visibility=comment.visibility,
            public_reply=public_reply,
            actor_user_id=comment.author_id,
            actor_label=comment.author_label,
        )
    )


def ticket_opened(ticket: Ticket) -> None:
    """A ticket was opened (``ticket.opened``), however: portal, by a technician on the
    requester's behalf, by e-mail. Called by ``services.create_ticket`` inside its
    transaction: one INSERT on the hot path."""
    record(
        TicketOpened(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.pk,
            number=ticket.number,
            requester_id=ticket.requester_id,
            party_id=ticket.party_id,
            priority=ticket.priority,
        )
    )


def ticket_resolved(ticket: Ticket) -> None:
    """IT resolved or closed a ticket (``ticket.resolved``). Called by
    ``services.change_status`` inside its transaction when a ticket leaves the open
    statuses; a requester closing their own ticket records nothing here."""
    record(TicketResolved(tenant_id=ticket.tenant_id, ticket_id=ticket.pk, status=ticket.status))


def emit_assigned(*, actor: Principal, ticket: Ticket) -> None:
    """A ticket was given to a person (``ticket.assigned``); nothing when it was given to
    nobody."""
    if ticket.assignee_id is None:
        return
    record(
        TicketAssigned(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.pk,
            assignee_id=ticket.assignee_id,
            **_actor(actor),
        )
    )


def emit_handoff(*, actor: Principal, handoff: Handoff) -> None:
    """A ticket moved to another party (``ticket.handed_off``)."""
    record(
        TicketHandedOff(
            tenant_id=handoff.tenant_id,
            ticket_id=handoff.ticket_id,
            handoff_id=handoff.pk,
            from_party_id=handoff.from_party_id,
            to_party_id=handoff.to_party_id,
            reason=handoff.reason,
            ping_pong=handoff.is_ping_pong,
            **_actor(actor),
        )
    )


def emit_reopened(*, actor: Principal, ticket: Ticket, follow_up: Ticket | None) -> None:
    """The requester answered a done ticket (``ticket.reopened``): it is open again, or
    ``follow_up`` was opened for the answer because the reopen window had passed."""
    record(
        TicketReopened(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.pk,
            follow_up_id=follow_up.pk if follow_up is not None else None,
            **_actor(actor),
        )
    )

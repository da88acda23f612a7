"""What happens on the service desk, as domain events (decision 0022).

The desk records these in the transaction of the change (``servicedesk.notifications``
and the SLA watcher, ``servicedesk.sla_alerts``); mail to requesters, in-app notices, mail to
IT people and webhooks subscribe to them. Plain values only: the ids of what changed, who did
it (``actor_user_id`` and ``actor_label``, as the audit entry names them) and the facts a
subscriber must not read later because they may have changed since (a handoff's reason, the
missed target's due time).
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.core.events import Event, event_type


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

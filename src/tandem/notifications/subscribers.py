"""How the notifications app hears of what happened (domain events, decision 0022).

Per event on a ticket, people are told twice over: an in-app notice, written right after the
change commits (:func:`notices`, inline: the bell is current on the next page), and a short
e-mail plus the tenant's webhooks of the event's old kind (:func:`mail_and_webhooks`, in the
worker). Any event of the catalogue may also go to the webhooks that name its type
(:func:`event_webhooks`). Each runs once per event: the outbox marks it in the transaction of
its own writes.

This module reads the desk's public models and events only: who is told is worked out here,
from the ids the event carries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tandem.core.events import ANY, Envelope, Event, subscriber
from tandem.notifications import it_mail, services
from tandem.notifications.choices import NotificationKind
from tandem.servicedesk.events import (
    NoteAdded,
    SlaBreached,
    SlaWarning,
    TicketAssigned,
    TicketHandedOff,
    TicketReopened,
)
from tandem.servicedesk.mail.services import ItMail, register_it_mail
from tandem.servicedesk.models import Comment, Handoff, Ticket
from tandem.tenancy.models import Party

# The mail to IT people these subscribers make due is sent by the desk, worded and checked
# here (the notice behind it is this app's).
register_it_mail(ItMail(refusal=it_mail.refusal, context=it_mail.context))

#: The events people are told of, and the notification kind (and webhook event name) each
#: has always had. Webhooks that name these kinds keep their payload byte for byte.
TOLD = {
    TicketAssigned.type: NotificationKind.ASSIGNED,
    TicketHandedOff.type: NotificationKind.HANDOFF,
    NoteAdded.type: NotificationKind.PUBLIC_REPLY,
    TicketReopened.type: NotificationKind.REOPENED,
    SlaWarning.type: NotificationKind.SLA_WARNING,
    SlaBreached.type: NotificationKind.SLA_BREACH,
}


def _ticket(pk: int) -> Ticket:
    return Ticket.objects.select_related(
        "tenant", "assignee", "party", "routing_row__accountable"
    ).get(pk=pk)


def _actor(event: Any) -> services.Actor:
    return services.Actor(user_id=event.actor_user_id, label=event.actor_label)


def tells(event: Event) -> list[services.Tell]:
    """Who is told of ``event``, and what (nothing for events people are not told of)."""
    if isinstance(event, TicketAssigned):
        return services.assigned(actor=_actor(event), ticket=_ticket(event.ticket_id))
    if isinstance(event, TicketHandedOff):
        handoff = Handoff.objects.select_related("from_party", "to_party").get(pk=event.handoff_id)
        return services.handed_off(
            actor=_actor(event), ticket=_ticket(event.ticket_id), handoff=handoff
        )
    if isinstance(event, NoteAdded):
        if event.visibility != "public":
            return []
        comment = Comment.objects.get(pk=event.comment_id)
        comment.ticket = _ticket(event.ticket_id)
        return services.public_reply(actor=_actor(event), comment=comment)
    if isinstance(event, TicketReopened):
        follow_up = _ticket(event.follow_up_id) if event.follow_up_id is not None else None
        return services.reopened(
            actor=_actor(event), ticket=_ticket(event.ticket_id), follow_up=follow_up
        )
    if isinstance(event, SlaWarning | SlaBreached):
        return services.sla_alert(
            ticket=_ticket(event.ticket_id),
            party=Party.objects.get(pk=event.party_id),
            metric=event.metric,
            kind=TOLD[event.type],
            due_at=dt.datetime.fromisoformat(event.due_at),
            target_due=dt.datetime.fromisoformat(event.target_due_at),
        )
    return []


@subscriber(*TOLD, inline=True)
def notices(event: Event, envelope: Envelope) -> None:
    """The in-app notices of an event: cheap, so written right after the change commits."""
    services.notify(tells(event))


@subscriber(*TOLD)
def mail_and_webhooks(event: Event, envelope: Envelope) -> None:
    """The e-mail of an event to IT people (per their preferences), and the deliveries to
    webhooks that subscribe to its notification kind, in the ticket events' format."""
    services.mail_and_webhooks(tells(event), occurred_at=envelope.occurred_at)


@subscriber(ANY)
def event_webhooks(event: Event, envelope: Envelope) -> None:
    """Deliveries to the webhooks that name this event's type (``ticket.opened``,
    ``engagement.suspended``, ...), whatever app recorded it."""
    if event.tenant_id is None:
        return
    services.queue_event_webhooks(
        tenant_id=event.tenant_id,
        event_type=envelope.type,
        data=event.payload(),
        occurred_at=envelope.occurred_at,
    )

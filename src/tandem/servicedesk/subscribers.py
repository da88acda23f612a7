"""The desk's own subscribers to its domain events (decision 0022): mail to requesters."""

from __future__ import annotations

from tandem.core.events import Envelope, subscriber
from tandem.servicedesk.events import NoteAdded, TicketOpened, TicketResolved
from tandem.servicedesk.mail import outbound


@subscriber(TicketOpened.type, TicketResolved.type, NoteAdded.type)
def requester_mail(event: TicketOpened | TicketResolved | NoteAdded, envelope: Envelope) -> None:
    """Acknowledge, announce the resolution of, or pass IT's public reply on to the
    requester: the mail row is written with this subscriber's mark, so it is due once."""
    outbound.queue_requester_mail(event)

"""The index of the desk's models, which Django loads as ``servicedesk.models``: each
aggregate keeps its own (``tickets``, ``queues``, ``mail``, ``config``), all in the
``servicedesk`` app. The responsibility matrix that routes tickets is an app of its own
(``tandem.responsibility``).

A ticket is always held by exactly one party (internal IT or a provider party); SLA time is
charged to the holder, and every change of holder, status or priority is a
:class:`TicketEvent`, from which the SLA clocks are recomputed.
"""

from __future__ import annotations

from tandem.servicedesk.config.models import CannedReply, Category, DeskSettings
from tandem.servicedesk.mail.models import InboundMessage, MailTemplate, OutboundMessage
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets.models import (
    QUEUE_INDEX_COLUMNS,
    Attachment,
    Comment,
    Handoff,
    OfflineTicket,
    SlaAlert,
    Ticket,
    TicketDevice,
    TicketEvent,
    TimeEntry,
    attachment_path,
)

__all__ = [
    "QUEUE_INDEX_COLUMNS",
    "Attachment",
    "CannedReply",
    "Category",
    "Comment",
    "DeskSettings",
    "Handoff",
    "InboundMessage",
    "MailTemplate",
    "OutboundMessage",
    "SavedView",
    "SlaAlert",
    "Ticket",
    "OfflineTicket",
    "TicketDevice",
    "TicketEvent",
    "TimeEntry",
    "attachment_path",
]

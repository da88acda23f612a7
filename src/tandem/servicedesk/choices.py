"""Enumerations and defaults of the service desk."""

from __future__ import annotations

from django.db import models


class Visibility(models.TextChoices):
    """Who may read a comment or attachment. The default is never public."""

    #: Only the author's party.
    PRIVATE = "private", "Party-private"
    #: The tenant's internal IT and the provider parties involved in the ticket.
    SHARED = "shared", "IT-shared"
    #: Also the requester.
    PUBLIC = "public", "Public"


class StatusKind(models.TextChoices):
    """What a status means to the SLA clocks and the queues, whatever it is called."""

    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING = "waiting", "Waiting"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    HANDOFF = "handoff", "Handed off"
    PRIORITY = "priority", "Priority changed"
    RESPONDED = "responded", "Public response"
    COMMENTED = "commented", "Commented"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    MERGED = "merged", "Merged"


class Via(models.TextChoices):
    WEB = "web", "Web"
    PORTAL = "portal", "Portal"
    EMAIL = "email", "E-mail"
    API = "api", "API"


class TicketSource(models.TextChoices):
    """How the person reached IT (``via`` is how the ticket entered Tandem): a technician
    who logs a phone call opens the ticket on the web, but its source is the phone."""

    PHONE = "phone", "Phone"
    WALK_IN = "walk-in", "Walk-in"
    CHAT = "chat", "Chat"
    EMAIL = "email", "E-mail"
    PORTAL = "portal", "Portal"
    #: Opened by Tandem itself from what it watches (a device gone offline, decision 0032);
    #: never offered to a technician logging a call.
    MONITORING = "monitoring", "Monitoring"


#: The sources a person logging a call picks from.
CALLER_SOURCES = [(k, v) for k, v in TicketSource.choices if k != TicketSource.MONITORING]

#: ``{source: label}`` for the queue columns and the CSV export.
SOURCE_LABELS: dict[str, str] = dict(TicketSource.choices)


#: The status kinds of a ticket that is done with: the queues' "resolved or closed".
DONE_KINDS = (StatusKind.RESOLVED, StatusKind.CLOSED)

#: The longest reopen window a desk may set (``DeskSettings.reopen_days``).
MAX_REOPEN_DAYS = 365

#: The default status workflow (key, name, kind). Tenants may rename and add statuses; the
#: kind is what the SLA clocks and queues understand.
DEFAULT_STATUSES: list[tuple[str, str, str]] = [
    ("new", "New", StatusKind.NEW),
    ("assigned", "Assigned", StatusKind.OPEN),
    ("in-progress", "In progress", StatusKind.OPEN),
    ("waiting-requester", "Waiting on requester", StatusKind.WAITING),
    ("waiting-third-party", "Waiting on third party", StatusKind.WAITING),
    ("resolved", "Resolved", StatusKind.RESOLVED),
    ("closed", "Closed", StatusKind.CLOSED),
    ("reopened", "Reopened", StatusKind.OPEN),
]

#: ITIL 3×3 (see ``tandem.sla.priority.ITIL_3X3``): rows are urgencies, columns impacts,
#: every list ordered from most to least severe.
DEFAULT_PRIORITY_MATRIX: dict[str, list] = {  # type: ignore[type-arg]
    "impacts": ["high", "medium", "low"],
    "urgencies": ["high", "medium", "low"],
    "priorities": ["P1", "P2", "P3", "P4", "P5"],
    "grid": [["P1", "P2", "P3"], ["P2", "P3", "P4"], ["P3", "P4", "P5"]],
}


class InboundStatus(models.TextChoices):
    """Where an accepted e-mail stands. Nothing accepted is ever deleted."""

    #: Kept, not yet processed.
    PENDING = "pending", "Pending"
    #: Opened a ticket or added a note.
    PROCESSED = "processed", "Processed"
    #: Deliberately not acted on (automatic reply, bounce, list mail, a sender outside the
    #: policy, rate limit), kept with the reason on the mail review. (Called "ignored" before
    #: 0017; nothing accepted is ignored.)
    KEPT = "kept", "Kept"
    #: Could not be read or processed; kept with the error for review, and retryable.
    FAILED = "failed", "Failed"


class InboundReason(models.TextChoices):
    """Why a kept e-mail opened no ticket and added no note (``InboundMessage.reason_code``)."""

    AUTOMATIC = "automatic", "Automatic reply"
    BOUNCE = "bounce", "Bounce or delivery report"
    BULK = "bulk", "Bulk or list mail"
    LOOP = "loop", "Mail loop"
    FORGED = "forged", "Sender authentication failed"
    NO_DESK = "no_desk", "No such desk"
    SENDER = "sender", "Sender outside the desk's sender policy"
    NOT_ALLOWED = "not_allowed", "Sender may not do this"
    RATE_LIMIT = "rate_limit", "Rate limit"
    EMPTY = "empty", "Empty reply"
    ERROR = "error", "Processing failed"


class OutboundStatus(models.TextChoices):
    """Where a due notification stands."""

    PENDING = "pending", "Pending"
    #: Handed to a worker that is talking to the SMTP server right now.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class MailKind(models.TextChoices):
    """The notifications the desk sends; each can have a per-tenant template."""

    TICKET_CREATED = "ticket_created", "Ticket opened (acknowledgement to the requester)"
    TICKET_RESOLVED = "ticket_resolved", "Ticket resolved (to the requester, with the rating link)"
    PUBLIC_REPLY = "public_reply", "Public reply to the requester"
    # To IT people (notifications/services.py): short notices, never a note's text.
    ASSIGNED = "assigned", "Ticket assigned to you (IT)"
    HANDOFF = "handoff", "Ticket handed to your party (IT)"
    IT_PUBLIC_REPLY = "it_public_reply", "Public reply on a ticket you work or watch (IT)"
    SLA_WARNING = "sla_warning", "SLA warning (IT)"
    SLA_BREACH = "sla_breach", "SLA breach (IT)"
    REOPENED = "reopened", "Ticket reopened by its requester, or followed up (IT)"
    ACCOUNTABLE_BREACH = "accountable_breach", "SLA breach on a ticket you are Accountable for (IT)"


#: The kinds of mail that go to IT people, not to requesters. They carry the ticket's
#: number, subject, tenant, priority, a due time, a one-line reason and a link; never the text
#: of a note, whatever its tier.
IT_MAIL_KINDS = frozenset(
    {
        MailKind.ASSIGNED,
        MailKind.HANDOFF,
        MailKind.IT_PUBLIC_REPLY,
        MailKind.SLA_WARNING,
        MailKind.SLA_BREACH,
        MailKind.REOPENED,
        MailKind.ACCOUNTABLE_BREACH,
    }
)


class MailSenderPolicy(models.TextChoices):
    """Who may open tickets by writing to the tenant's desk address (``DeskSettings``)."""

    #: Active people with a membership in the tenant (the default; before 0017, the rule).
    MEMBERS = "members", "Members only"
    #: Also anyone from the tenant's mail domains: a requester is created on first mail.
    DOMAINS = "domains", "Members and anyone from the tenant's mail domains"
    #: Anyone: a requester is created on first mail.
    ANYONE = "anyone", "Anyone"

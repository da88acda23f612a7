"""The co-managed service desk: tickets, their history, notes in three tiers, handoffs, time,
and the responsibility matrix that routes them.

A ticket is always held by exactly one party (internal IT or a provider party); SLA time is
charged to the holder, and every change of holder, status or priority is a
:class:`TicketEvent`, from which the SLA clocks are recomputed.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from tandem.core.models import TenantOwned, TimeStamped
from tandem.servicedesk.choices import (
    EventKind,
    InboundStatus,
    MailKind,
    MailSenderPolicy,
    OutboundStatus,
    TicketSource,
    Via,
    Visibility,
)


class DeskSettings(TenantOwned):
    """Per-tenant service-desk data: priority matrix, status workflow, numbering, thresholds."""

    priority_matrix = models.JSONField()
    statuses = models.JSONField(help_text="[[key, name, kind], ...] in display order")
    #: Priorities up to this number (1 = P1) are routed to whoever is on duty out of hours.
    urgent_priority_max = models.PositiveSmallIntegerField(default=2)
    #: A handoff back to the party that held the ticket within this many minutes is ping-pong.
    ping_pong_minutes = models.PositiveIntegerField(default=24 * 60)
    #: A requester's reply within this many days of the resolution reopens the ticket; a
    #: later one opens a follow-up ticket linked to it (0: always a follow-up).
    reopen_days = models.PositiveSmallIntegerField(default=14)
    next_number = models.PositiveIntegerField(default=1)
    #: Who may open tickets by mail (``MailSenderPolicy``); mail from others waits on the
    #: mail review until an owner accepts the sender.
    mail_sender_policy = models.CharField(
        max_length=10, choices=MailSenderPolicy.choices, default=MailSenderPolicy.MEMBERS
    )
    #: The tenant's own mail domains (lower case, IDNA-decoded), declared by its owners:
    #: with the "domains" policy, anyone writing from one of them becomes a requester.
    mail_domains = models.JSONField(default=list, blank=True)
    #: Changes whenever anything routing or the SLA reads changes (matrix, coverage, calendars,
    #: policies, categories, engagements, parties, areas, these settings). Worker processes
    #: key their cached desk configuration on it (``servicedesk/desk_config.py``). A random
    #: token, not a counter: a bump rolled back with its transaction can never be reused.
    config_token = models.UUIDField(default=uuid.uuid4)

    #: Fields only ever written by targeted UPDATEs; a full ``save()`` of a stale instance
    #: must not write them back (numbers would repeat; a cached configuration would revive).
    COUNTERS = ("next_number", "config_token")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="desksettings_one_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"Desk settings of {self.tenant_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.COUNTERS
            ]
        super().save(*args, **kwargs)


class Category(TenantOwned):
    """What a requester picks; maps to a service area, and can ask extra questions."""

    name = models.CharField(max_length=120)
    service_area = models.ForeignKey("tenancy.ServiceArea", on_delete=models.PROTECT)
    description = models.TextField(blank=True, default="")
    #: Extra portal form fields: [{"name", "label", "type": text|textarea|choice, "choices"}].
    form_fields = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="category_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ResponsibilityRow(TenantOwned):
    """One row of the RACI matrix: for a service area (optionally one site or asset group),
    who is Responsible, Accountable, Consulted and Informed."""

    service_area = models.ForeignKey("tenancy.ServiceArea", on_delete=models.PROTECT)
    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.PROTECT)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    responsible = models.ForeignKey(
        "tenancy.Party", on_delete=models.PROTECT, related_name="responsible_rows"
    )
    accountable = models.ForeignKey(
        "tenancy.Party", on_delete=models.PROTECT, related_name="accountable_rows"
    )
    consulted = models.ManyToManyField("tenancy.Party", blank=True, related_name="consulted_rows")
    informed = models.ManyToManyField("tenancy.Party", blank=True, related_name="informed_rows")
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["service_area__name", "site__name", "asset_group__name"]

    def __str__(self) -> str:
        return f"{self.service_area} → {self.responsible}"


class MatrixVersion(TenantOwned):
    """A snapshot of the whole matrix after each change, so any past state can be shown."""

    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_by = models.CharField(max_length=200)
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="matrixversion_unique"),
        ]

    def __str__(self) -> str:
        return f"Matrix v{self.number}"


class Coverage(TenantOwned):
    """When a party is on duty: a calendar, for one service area or all, up to a priority.

    Internal IT might cover all areas and priorities in office hours; a night MSP might cover
    every area for P1 and P2 only, on a 24/7 or nights calendar.
    """

    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="coverage")
    calendar = models.ForeignKey("sla.Calendar", on_delete=models.PROTECT)
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.PROTECT
    )
    #: Covers priorities 1..max_priority (1 = P1). 5 covers everything in the ITIL grid.
    max_priority = models.PositiveSmallIntegerField(default=5)

    class Meta:
        ordering = ["party__name"]

    def __str__(self) -> str:
        return f"{self.party} on {self.calendar}"


#: What the queues' newest-first indexes carry beside the key (PostgreSQL's INCLUDE): the
#: columns of the visibility predicate and of the usual filters, so a provider's queue is
#: walked on the index entries alone.
QUEUE_INDEX_COLUMNS = ["tenant", "party", "service_area", "site", "requester", "status", "priority"]


class Ticket(TenantOwned):
    """A request or incident, numbered per tenant, held by one party at a time."""

    #: When it was opened: the moment the service was given (mail received earlier, history
    #: loaded by ``tandem demo``), else now; ``auto_now_add`` would overwrite a given moment.
    created_at = models.DateTimeField(default=timezone.now)
    number = models.PositiveIntegerField()
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets"
    )
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.PROTECT
    )
    impact = models.PositiveSmallIntegerField()
    urgency = models.PositiveSmallIntegerField()
    priority = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=40)
    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.PROTECT)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    tags = models.JSONField(default=list, blank=True)
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged"
    )
    #: The closed ticket this one continues: a requester answered it after its reopen window.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    #: How the requester reached IT (phone, walk-in, chat, e-mail, portal); ``via`` is only
    #: how the ticket entered Tandem.
    source = models.CharField(
        max_length=10, choices=TicketSource.choices, default=TicketSource.PORTAL
    )
    #: Why the ticket went to its party, in words: "Server patching → Northwind MSP (R); P2".
    routing_reason = models.CharField(max_length=500, blank=True, default="")
    #: The responsibility-matrix row that routed the ticket (empty: no row applied, or the row
    #: was removed since). Its Accountable party hears of the holder's SLA breaches.
    routing_row = models.ForeignKey(
        ResponsibilityRow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # SLA results, recomputed from the events on every change (never the source of truth).
    first_response_due = models.DateTimeField(null=True, blank=True)
    next_update_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    sla_state = models.JSONField(default=dict, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    #: When the ticket was last resolved or closed; empty exactly while its status is of an
    #: open kind (the status services keep the two in step, and a status's kind cannot change
    #: while tickets hold it). The queues' "open" filter and index rest on this.
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction_comment = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_unique_number"),
        ]
        indexes = [
            # Queue pages: newest first within a tenant, and across tenants for a provider's
            # queue (walked newest first, filtered by the visibility predicate).
            models.Index(fields=["tenant", "-created_at", "-id"], name="ticket_tenant_created"),
            # Covering on PostgreSQL: a provider's queue checks its visibility predicate and
            # usual filters on the index entries alone (an index-only scan), not on each
            # ticket's heap row: half the time at a million tickets. SQLite ignores INCLUDE.
            models.Index(
                fields=["-created_at", "-id"],
                name="ticket_created",
                include=QUEUE_INDEX_COLUMNS,
            ),
            # Open tickets (not resolved or closed: ``resolved_at`` is empty), newest first:
            # the queues' "Any open status" walks these instead of every ticket of two years.
            models.Index(
                fields=["-created_at", "-id"],
                name="ticket_open_created",
                condition=models.Q(resolved_at__isnull=True),
                include=QUEUE_INDEX_COLUMNS,
            ),
            models.Index(
                fields=["tenant", "-created_at", "-id"],
                name="ticket_tenant_open",
                condition=models.Q(resolved_at__isnull=True),
            ),
            models.Index(fields=["tenant", "status", "-created_at"], name="ticket_tenant_status"),
            models.Index(fields=["party", "status", "-created_at"], name="ticket_party_status"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class TicketEvent(TenantOwned):
    """One change of a ticket, with the state after it: the SLA clocks' source of truth."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    status = models.CharField(max_length=40)
    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="+")
    priority = models.PositiveSmallIntegerField()
    actor_label = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticketevent_ticket_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} at {self.at}"


class Handoff(TenantOwned):
    """An explicit transfer or escalation between parties, with its reason."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="handoffs")
    from_party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="+")
    to_party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    is_ping_pong = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_party} → {self.to_party}"


class Comment(TenantOwned):
    """A note on a ticket in one of three tiers; the default tier is never public."""

    #: When it was written: the service's moment (see ``Ticket.created_at``).
    created_at = models.DateTimeField(default=timezone.now)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    author_label = models.CharField(max_length=200)
    #: The party the author wrote for; None for the requester.
    party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.SHARED
    )
    body = models.TextField()
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    #: The Message-ID of the e-mail it came from or went out as, for threading.
    message_id = models.CharField(max_length=250, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.visibility} note on {self.ticket_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # Random directory per file: names never collide and are not guessable.
    import uuid

    return f"attachments/{instance.tenant_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(TenantOwned):
    """A file on a ticket, in a visibility tier; served only to those who may read it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.SHARED
    )
    party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )

    def __str__(self) -> str:
        return self.filename


class TimeEntry(TenantOwned):
    """Time spent on a ticket by one person for one party, in one service area."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="time_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="+")
    service_area = models.ForeignKey("tenancy.ServiceArea", on_delete=models.PROTECT)
    work_date = models.DateField()
    minutes = models.PositiveIntegerField()
    billable = models.BooleanField(default=True)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-work_date", "-id"]
        verbose_name_plural = "time entries"

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.ticket_id}"


class InboundMessage(TimeStamped):
    """One e-mail as the listener accepted it, kept raw before the listener answered 250.

    Processing then opens a ticket or adds a note (``processed``), or keeps it as
    ``ignored`` (automatic reply, unknown sender, rate limit) or ``failed`` (unreadable)
    with the reason, for review. The tenant is known only once the recipient address has
    been matched, so it may be empty; the manager is scoped all the same (rows without a
    tenant are reached only in a named system context).
    """

    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, db_index=True
    )
    received_at = models.DateTimeField(default=timezone.now)
    envelope_from = models.CharField(max_length=320, blank=True, default="")
    envelope_to = models.JSONField(default=list)
    peer = models.CharField(max_length=100, blank=True, default="")
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.PENDING
    )
    #: Why it was kept without a ticket, or the error that made it fail.
    reason = models.TextField(blank=True, default="")
    #: The kind of reason, for filters and actions (``InboundReason``); "" when processed.
    reason_code = models.CharField(max_length=30, blank=True, default="")
    #: How often processing ran (a retry runs it again).
    attempts = models.PositiveIntegerField(default=0)
    #: Files of the message stored on the ticket or note it became.
    attachments_kept = models.PositiveIntegerField(default=0)
    #: A tenant owner accepted it from the mail review: it is processed as a person's mail
    #: from a requester, whatever automatic signs it carries or the sender policy says.
    accepted = models.BooleanField(default=False)
    from_address = models.CharField(max_length=320, blank=True, default="")
    subject = models.CharField(max_length=250, blank=True, default="")
    message_id = models.CharField(max_length=250, blank=True, default="", db_index=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
        ]

    def __str__(self) -> str:
        return f"Inbound mail {self.pk} from {self.from_address or self.envelope_from}"


class OutboundMessage(TenantOwned):
    """A notification that was due, and what became of it: one row per recipient, written in
    the same transaction as the note that caused it, so the fact is never lost even when
    the SMTP server is down."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbound_mail")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=MailKind.choices)
    to_address = models.CharField(max_length=320)
    #: Our Message-ID; a reply's In-Reply-To/References finds the ticket through it.
    message_id = models.CharField(max_length=250, unique=True)
    subject = models.CharField(max_length=250, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address} ({self.status})"


class MailTemplate(TenantOwned):
    """A tenant's wording for one kind of notification (Django template syntax, plain text).
    Without one, the built-in ``servicedesk/mail/<kind>.*.txt`` is used."""

    kind = models.CharField(max_length=20, choices=MailKind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="mailtemplate_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} template of {self.tenant_id}"


class SavedView(TimeStamped):
    """A person's named set of queue filters ("P1s breaching at Acme").

    Personal: only its owner sees or deletes it. A ``tenant_id`` among the filters narrows
    the view to one tenant; without it the view spans every tenant the owner works in. (The
    tenant is kept in the filters, not as a foreign key: a tenant column would make this a
    tenant-scoped row, and a cross-tenant view belongs to no tenant.) The filters are applied
    through the owner's access every time the view is opened, so a view never reveals more
    than the queue itself would.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CannedReply(TenantOwned):
    """A named reply text kept for the ticket page's note form.

    Tenant-wide (no party): read by the tenant's IT and the providers it engages, kept by
    the tenant's IT. A party's own (``party`` set): read and kept by that party alone, so
    one provider never sees another's wording.
    """

    party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=100)
    body = models.TextField()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "canned replies"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "party", "name"], name="cannedreply_unique_party_name"
            ),
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=models.Q(party__isnull=True),
                name="cannedreply_unique_tenant_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaAlert(TenantOwned):
    """A warning or breach already raised for one ticket, metric and holder party: the SLA
    watcher's memory (``servicedesk.sla_alerts``), so each is raised once however often it
    runs. Moved from the notifications app, which now only hears of it (``sla.warning``,
    ``sla.breached``); the table keeps its name."""

    KINDS = [("sla_warning", "SLA warning"), ("sla_breach", "SLA breach")]

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_alerts")
    party = models.ForeignKey("tenancy.Party", on_delete=models.PROTECT, related_name="+")
    metric = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, choices=KINDS)
    #: When the warning or breach happened on the SLA clock (not when it was announced).
    due_at = models.DateTimeField()

    class Meta:
        db_table = "notifications_slaalert"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "party", "metric", "kind"], name="slaalert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.metric} on {self.ticket_id}"

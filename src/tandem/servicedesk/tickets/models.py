"""Tickets and what hangs on them: events, handoffs, notes, files and time entries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tandem.core.models import TenantOwned
from tandem.servicedesk.choices import (
    EventKind,
    TicketSource,
    Via,
    Visibility,
)

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
    category = models.ForeignKey(
        "servicedesk.Category", null=True, blank=True, on_delete=models.PROTECT
    )
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
    #: The devices the ticket is about (decision 0026): each reader sees the ones it may see.
    devices = models.ManyToManyField(
        "assets.Device", blank=True, through="TicketDevice", related_name="tickets"
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
        "responsibility.ResponsibilityRow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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


class TicketDevice(TenantOwned):
    """A device a ticket names. Its own row (not Django's hidden link table) so that it is
    tenant-scoped like every tenant's data, and the device page finds a device's tickets
    through its own index."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="device_links")
    device = models.ForeignKey(
        "assets.Device", on_delete=models.PROTECT, related_name="ticket_links"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "device"], name="ticketdevice_unique"),
        ]
        indexes = [models.Index(fields=["device", "ticket"], name="ticketdevice_device")]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.device_id}"


class OfflineTicket(TenantOwned):
    """The ticket a device's offline episode opened (decision 0032): one per episode (the
    one-to-one makes a second impossible, whatever the retries), and when its device came
    back and the ticket was told so."""

    episode = models.OneToOneField(
        "assets.OfflineEpisode", on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    came_back_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"episode {self.episode_id} → ticket {self.ticket_id}"

"""Mail in and out of the desk, and each tenant's mail templates."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tandem.core.models import TenantOwned, TimeStamped, tenant_manager
from tandem.servicedesk.choices import (
    InboundStatus,
    MailKind,
    OutboundStatus,
)
from tandem.servicedesk.tickets.models import Comment, Ticket


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

    objects = tenant_manager()

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

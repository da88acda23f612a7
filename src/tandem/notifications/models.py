"""In-app notifications, outgoing webhooks with their delivery log, e-mail notices and
preferences. (The scheduler's bookkeeping moved to ``core``, the SLA alerts to the desk.)

Notifications and deliveries are written by this app's subscribers to domain events (a
handoff, an assignment, a public reply, an SLA breach; decision 0022), after the change
that caused them commits; network delivery happens in the worker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import TenantOwned, TimeStamped
from tandem.notifications.choices import DeliveryStatus, NotificationKind


class Notification(TenantOwned):
    """One message in one person's in-app inbox about one ticket."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    ticket = models.ForeignKey(
        "servicedesk.Ticket", on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=500)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.text[:40]}"


class Webhook(TenantOwned):
    """An HTTPS (or HTTP) endpoint of the tenant that receives signed event payloads."""

    url = models.CharField(max_length=500)
    #: Signs every payload (HMAC-SHA256); shown once, when the webhook is created.
    secret = models.CharField(max_length=100)
    #: What it subscribes to: notification kinds (``handoff``) and domain event types
    #: (``ticket.opened``, ``engagement.ended``; ``core.events.event_types()``).
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwned):
    """One event for one webhook: its payload, and every attempt's outcome."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    #: A notification kind, or a domain event type (``engagement.suspended``).
    event = models.CharField(max_length=60, choices=NotificationKind.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id}: {self.status}"


class NotificationPreference(TimeStamped):
    """One person's choice for one kind of notification: whether it also comes by e-mail.

    A person's own setting, the same in every tenant they work in, so not tenant data.
    Without a row e-mail is on; the in-app notification is always written.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notificationpreference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: e-mail {'on' if self.email else 'off'}"


class EmailNotice(TenantOwned):
    """Why an IT person is e-mailed about a ticket: the event, its one-line reason and the
    due time it names, for one :class:`~tandem.servicedesk.models.OutboundMessage` of an IT
    kind (``servicedesk.choices.IT_MAIL_KINDS``).

    Written with the outbound row, in the transaction of the event, so the mail is worded
    from the facts as they were then (a later handoff does not change why this one was
    sent). The recipient is kept to check, when the mail goes out, that they still see the
    ticket.
    """

    outbound = models.OneToOneField(
        "servicedesk.OutboundMessage", on_delete=models.CASCADE, related_name="notice"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=NotificationKind.choices)
    reason = models.CharField(max_length=500)
    #: The due time the mail names (the holder's next SLA target, or the one warned about).
    due_at = models.DateTimeField(null=True, blank=True)
    #: Which target ``due_at`` is: "first response", "resolution".
    due_label = models.CharField(max_length=40, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.event} notice for {self.user_id}"

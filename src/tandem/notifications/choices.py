"""Choices of the notifications app."""

from __future__ import annotations

from django.db import models


class NotificationKind(models.TextChoices):
    """What happened; also the event names webhooks subscribe to."""

    ASSIGNED = "assigned", "Assigned to you"
    PUBLIC_REPLY = "public_reply", "Public reply"
    HANDOFF = "handoff", "Handed to your party"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACH = "sla_breach", "SLA breach"
    REOPENED = "reopened", "Reopened by its requester"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"

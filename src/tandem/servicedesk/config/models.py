"""A tenant's desk settings, its ticket categories and its canned replies."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from tandem.core.models import TenantOwned
from tandem.servicedesk.choices import (
    MailSenderPolicy,
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

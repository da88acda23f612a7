"""Business calendars and SLA policies, stored as data; the computation lives in the pure
modules ``calendar`` and ``clock`` next to this file."""

from __future__ import annotations

from django.db import models

from tandem.core.models import TenantOwned


class Calendar(TenantOwned):
    """Service hours: an IANA time zone, several intervals per weekday, holidays.

    ``weekly`` maps weekday numbers ("0" = Monday) to ``[["08:00", "17:00"], ...]``; "24:00"
    closes a day at midnight. Holidays come from the ``holidays`` package for the country and
    subdivision, plus ``custom_holidays`` (ISO dates); ``special_days`` overrides one date's
    hours (a half day: ``{"2026-12-24": [["08:00", "12:00"]]}``).
    """

    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64)
    weekly = models.JSONField()
    holiday_country = models.CharField(max_length=2, blank=True, default="")
    holiday_subdivision = models.CharField(max_length=10, blank=True, default="")
    custom_holidays = models.JSONField(default=list, blank=True)
    special_days = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="calendar_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(TenantOwned):
    """Targets per priority for one party in a tenant: a provider's SLA (from its engagement)
    or an internal OLA for the tenant's own IT.

    ``targets`` maps priority ("1".."5") to minutes of business time per metric:
    ``{"1": {"first_response": 15, "next_update": 60, "resolution": 240}, ...}``.
    ``pause_statuses`` maps a metric to the status keys that stop its clock.
    """

    name = models.CharField(max_length=120)
    party = models.ForeignKey(
        "tenancy.Party", on_delete=models.PROTECT, related_name="sla_policies"
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT)
    targets = models.JSONField()
    pause_statuses = models.JSONField(default=dict, blank=True)
    #: How long before a due time the worker warns (percent of the target elapsed).
    warn_at_percent = models.PositiveSmallIntegerField(default=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="slapolicy_unique_name"),
            models.UniqueConstraint(
                fields=["party"], condition=models.Q(is_active=True), name="slapolicy_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.name

"""Alerts (decision 0037): what a tenant's detections became, deduplicated; the sample of
events each one keeps; the suppressions that silence known noise; the tenant's settings.

All tenant-owned and scoped like every tenant row (decision 0001). None names a device
field for the device principal (decision 0032): an agent reaches no alert.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.alerts.choices import AlertStatus, Severity
from tandem.core.models import TenantOwned

#: The dedup window when the tenant set none, and its bounds (minutes).
DEFAULT_WINDOW_MINUTES = 15
MIN_WINDOW_MINUTES, MAX_WINDOW_MINUTES = 1, 24 * 60
#: How long a recorded batch's key is kept: a batch delivered again later than this (its
#: worker stopped for more than a week holding it) would count its detections twice.
RECORDED_BATCH_DAYS = 7


class AlertSettings(TenantOwned):
    """The tenant's alert settings: how long after an alert's last detection a detection of
    the same rule, host and key fields still updates it (the dedup window)."""

    dedup_window_minutes = models.PositiveIntegerField(default=DEFAULT_WINDOW_MINUTES)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="alertsettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"alert settings of tenant {self.tenant_id}"


class Alert(TenantOwned):
    """One thing a rule found on a host, however many detections it took: rule × host ×
    key fields within the tenant's dedup window make one alert, counted and sampled.

    ``open_key`` is the dedup key while the alert collects detections, and empty once it is
    resolved, a false positive, or past its window (a new alert then starts). The unique
    constraint on it is what makes "one collecting alert per key" hold under concurrent
    workers.
    """

    rule_id = models.CharField(max_length=200)
    rule_title = models.CharField(max_length=300)
    #: The rule's level as it said it, and the severity it makes.
    level = models.CharField(max_length=20, blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField()
    tags = models.JSONField(default=list)
    tactics = models.JSONField(default=list)
    techniques = models.JSONField(default=list)
    host = models.CharField(max_length=255, blank=True, default="")
    #: The tenant's device with that host name, when there is one.
    device = models.ForeignKey(
        "assets.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The tenant's security monitoring area when the alert was raised: providers whose
    #: engagement covers it see the alert; the matrix routes its ticket by it.
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key_fields = models.JSONField(default=dict)
    dedup_key = models.CharField(max_length=64)
    open_key = models.CharField(max_length=64, null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=0)
    #: When Tandem raised it (the hour whose party gets its ticket).
    raised_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.NEW)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Who marked it a false positive or resolved it, when, and why.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_label = models.CharField(max_length=200, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    #: The desk's ticket for it (a plain id: the desk sits above alerts and links it).
    ticket_id = models.BigIntegerField(null=True, blank=True)
    #: When ``alert.updated`` was last recorded (throttled: the ticket hears of updates at
    #: most every few minutes).
    update_noticed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-severity_rank", "-last_seen", "-id"]
        constraints = [
            # NULLs are distinct: only a collecting alert holds its key.
            models.UniqueConstraint(fields=["tenant", "open_key"], name="alert_collecting_once"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "severity_rank", "last_seen"], name="alert_queue"
            ),
            models.Index(fields=["severity_rank", "last_seen"], name="alert_queue_all"),
            models.Index(fields=["tenant", "rule_id"], name="alert_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_title} on {self.host or 'unknown host'}"

    @property
    def name(self) -> str:
        """What lists call the alert: its rule's title."""
        return self.rule_title

    @property
    def is_open(self) -> bool:
        return self.status in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)


class AlertEvent(TenantOwned):
    """One event of an alert's sample: its first and its latest events are kept (the count
    says how many there were); ``ordinal`` is the event's place among them (1-based)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    ordinal = models.PositiveIntegerField()
    at = models.DateTimeField()
    event = models.JSONField(default=dict)

    class Meta:
        ordering = ["ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "ordinal"], name="alertevent_unique_ordinal")
        ]

    def __str__(self) -> str:
        return f"event {self.ordinal} of alert {self.alert_id}"


class RecordedBatch(TenantOwned):
    """A stream batch whose detections are recorded (decision 0046): written in the same
    transaction as the alerts it made, so a batch delivered again (its worker died between
    the commit and the acknowledgement, or its lease ran out while it was being processed)
    finds its key taken and records nothing a second time. Kept a week
    (:data:`RECORDED_BATCH_DAYS`), then purged: only batches that made detections have one.
    """

    batch_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "batch_key"], name="recordedbatch_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="recordedbatch_age")]

    def __str__(self) -> str:
        return f"batch {self.batch_key} of tenant {self.tenant_id}"


class Suppression(TenantOwned):
    """Known noise, silenced for a while: detections matching its rule id, host and key
    field values (those it names; at least one) are counted here instead of alerting, until
    it expires or is lifted. A reason and an expiry are required."""

    rule_id = models.CharField(max_length=200, blank=True, default="")
    host = models.CharField(max_length=255, blank=True, default="")
    key_fields = models.JSONField(default=dict)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    #: As for alerts: providers covering the area see (and, if allowed, make) suppressions.
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_label = models.CharField(max_length=200, blank=True, default="")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suppressed_count = models.PositiveBigIntegerField(default=0)
    last_suppressed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "expires_at"], name="suppression_active")]

    def __str__(self) -> str:
        what = [p for p in (self.rule_id, self.host) if p] + [
            f"{k}={v}" for k, v in sorted(self.key_fields.items())
        ]
        return "suppression of " + (", ".join(what) or "nothing")

"""Ingest sources and the quota windows (decision 0035). The events themselves are never
stored here: they go to the event stream (:mod:`tandem.logs.streams`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import TenantOwned
from tandem.logs.archive.retention import MAX_KEEP_DAYS
from tandem.logs.choices import SourceKind


class IngestSource(TenantOwned):
    """Where a tenant's logs come from: an HTTP shipper with its token, a syslog sender
    network, or the tenant's agents. Carries the source's limits and its counters of
    accepted and refused events (per reason), which the sources page shows."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=SourceKind.choices)
    #: The first characters of the token, to tell sources apart; empty without a token.
    prefix = models.CharField(max_length=16, blank=True)
    #: SHA-256 of the ingest token (``tdi_...``); None for syslog and agent sources.
    secret_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    #: Syslog senders allowed, as CIDR networks (``["10.0.0.0/8", "192.0.2.7/32"]``).
    allowed_networks = models.JSONField(default=list, blank=True)
    #: The device a syslog source's sender is (a firewall, a server): its events are
    #: recorded as that device's (decision 0045). Agents' events name their own device.
    device = models.ForeignKey(
        "assets.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Events per minute this source may send; None: only the tenant's quota applies.
    max_events_per_minute = models.PositiveIntegerField(null=True, blank=True)
    #: The most events one request may carry.
    max_batch_events = models.PositiveIntegerField(default=10_000)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    accepted = models.PositiveBigIntegerField(default=0)
    refused_malformed_json = models.PositiveBigIntegerField(default=0)
    refused_invalid_utf8 = models.PositiveBigIntegerField(default=0)
    refused_oversized_line = models.PositiveBigIntegerField(default=0)
    refused_broken_gzip = models.PositiveBigIntegerField(default=0)
    refused_quota = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(kind="agent"),
                name="logs_one_agent_source_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def refused_counts(self) -> dict[str, int]:
        return {
            "malformed_json": self.refused_malformed_json,
            "invalid_utf8": self.refused_invalid_utf8,
            "oversized_line": self.refused_oversized_line,
            "broken_gzip": self.refused_broken_gzip,
            "quota": self.refused_quota,
        }


class IngestWindow(TenantOwned):
    """Events taken in one minute, for the tenant (``source`` None) or one source: the
    quota's fixed window, shared by every receiver process through the database."""

    source = models.ForeignKey(IngestSource, null=True, blank=True, on_delete=models.CASCADE)
    #: Minutes since the Unix epoch.
    minute = models.BigIntegerField()
    events = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "minute"],
                condition=models.Q(source__isnull=True),
                name="logs_window_per_tenant_minute",
            ),
            models.UniqueConstraint(
                fields=["source", "minute"], name="logs_window_per_source_minute"
            ),
        ]


#: How long a sender's batch id is remembered (hours): a resend later than that appends
#: its events again (decision 0050).
ACCEPTED_BATCH_HOURS = 24


class AcceptedBatch(TenantOwned):
    """A batch id a sender named (``Tandem-Batch-Id``) and what the endpoint answered it
    (decision 0050): a resend of the batch gets the same answer and appends nothing.

    ``answer`` is None while the batch is being taken: the row is committed before the
    append, with ``mark`` (a stream position before it), so a resend after a receiver died
    between the append and the answer asks the stream what came after ``mark`` instead of
    appending again."""

    source = models.ForeignKey(IngestSource, on_delete=models.CASCADE, related_name="+")
    #: Who within the source: ``device:<id>`` for an agent, empty for a token's shipper.
    sender = models.CharField(max_length=40, blank=True, default="")
    batch_id = models.CharField(max_length=100)
    mark = models.BigIntegerField()
    answer = models.JSONField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "sender", "batch_id"], name="logs_accepted_batch_once"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="logs_accepted_batch_age")]

    def __str__(self) -> str:
        return f"batch {self.batch_id} of source {self.source_id}"


#: How long archived events are kept when the tenant has not said (days), and the bounds a
#: tenant may set (the upper one is the archive's own).
DEFAULT_RETENTION_DAYS = 90
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, MAX_KEEP_DAYS


class ArchiveSettings(TenantOwned):
    """The tenant's event archive settings: how many days its raw events are kept
    (decision 0045). The periodic retention job deletes whole hours older than that; a
    tenant without a row keeps ``DEFAULT_RETENTION_DAYS``."""

    retention_days = models.PositiveIntegerField(default=DEFAULT_RETENTION_DAYS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="archivesettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"event archive settings of tenant {self.tenant_id}"

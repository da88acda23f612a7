"""The tamper-evident audit log.

Every service that writes appends an :class:`AuditEntry` in the same transaction. Entries are
hash-chained per tenant (instance-level actions such as creating a provider form the
``instance`` chain): each entry's hash covers its own content and the previous entry's hash,
and :class:`AuditChain` keeps the head so that removing the newest entries is noticed too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import tenant_manager


class AuditChain(models.Model):
    """The head of one chain: its last sequence number and hash. Locked while appending."""

    key = models.CharField(max_length=40, unique=True)
    tenant = models.OneToOneField("tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.key} @ {self.last_seq}"


class AuditEntry(models.Model):
    """One write by one actor, with what changed. Never updated or deleted by Tandem."""

    chain_key = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, db_index=True
    )
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=200)
    party = models.ForeignKey("tenancy.Party", null=True, blank=True, on_delete=models.PROTECT)
    provider = models.ForeignKey(
        "tenancy.Provider", null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=200, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    objects = tenant_manager()

    class Meta:
        ordering = ["chain_key", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["chain_key", "seq"], name="auditentry_unique_seq"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent"),
            models.Index(fields=["party", "-created_at"], name="audit_party_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

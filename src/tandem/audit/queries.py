"""Reads of the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet

from tandem.audit.models import AuditEntry
from tandem.audit.services import row_content
from tandem.core.policies import visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context


def entries(principal: Principal) -> QuerySet[AuditEntry]:
    """Entries the principal may read: the whole tenant for owners and auditors, a
    provider's own party's actions for the provider; instance-level entries (no tenant) for
    the operator, and those tagged with its provider for a provider admin.

    Instance-level rows have no tenant, so the tenant scope would hide them: the base query
    runs in a system context and the policy's filter, built from the principal alone,
    narrows it (it never widens to all rows).
    """
    with system_context("audit entries, filtered by the principal's policy"):
        base = AuditEntry.objects.all()
        return visible(principal, "audit.view_auditentry", base).order_by("-created_at", "-id")


def as_json_lines(rows: QuerySet[AuditEntry]) -> Iterator[str]:
    """One JSON object per line, with the hashes, so an export can be verified offline."""
    for entry in rows.iterator(chunk_size=2000):
        yield json.dumps(row_content(entry), sort_keys=True, default=str) + "\n"

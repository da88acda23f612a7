"""Reads of the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet

from tandem.audit.models import AuditEntry
from tandem.audit.services import row_content
from tandem.core.policies import visible
from tandem.core.principal import Principal


def entries(principal: Principal) -> QuerySet[AuditEntry]:
    """Entries the principal may read: the whole tenant for owners and auditors, a
    provider's own party's actions for the provider."""
    return visible(principal, "audit.view_auditentry", AuditEntry.objects.all()).order_by(
        "-created_at", "-id"
    )


def as_json_lines(rows: QuerySet[AuditEntry]) -> Iterator[str]:
    """One JSON object per line, with the hashes, so an export can be verified offline."""
    for entry in rows.iterator(chunk_size=2000):
        yield json.dumps(row_content(entry), sort_keys=True, default=str) + "\n"

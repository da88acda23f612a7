"""Reads of the logs app: ingest sources in reach, with their counters. Every list goes
through the policy (``visible``) so a list never shows what a page refuses."""

from __future__ import annotations

from django.db.models import QuerySet

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.logs.models import IngestSource
from tandem.logs.permissions import MANAGE_SOURCES


def sources(principal: Principal, tenant_id: int) -> QuerySet[IngestSource]:
    return visible(principal, MANAGE_SOURCES, IngestSource.objects.filter(tenant_id=tenant_id))


def source_in_reach(principal: Principal, source_id: int) -> IngestSource:
    """The source if ``principal`` manages it, else 404."""
    return get_visible_or_404(principal, MANAGE_SOURCES, IngestSource.objects.all(), pk=source_id)

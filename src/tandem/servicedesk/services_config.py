"""Writes of coverage (part of the responsibility matrix): changed and removed. Keyword-only,
actor first, audited; open tickets' clocks are recomputed after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404

from tandem.audit.services import diff, record_audit
from tandem.core import policies
from tandem.core.errors import require
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.servicedesk import services
from tandem.servicedesk.config.queries import CHANGE, _one, _reachable
from tandem.servicedesk.config.services import KEEP, MAX_LEVELS, _fields
from tandem.servicedesk.config.sla_services import _recompute_after_commit
from tandem.servicedesk.models import Coverage
from tandem.servicedesk.tickets import services as ticket_services
from tandem.sla.models import Calendar
from tandem.tenancy.models import ServiceArea

# --- Coverage ---------------------------------------------------------------------------------

COVERAGE_FIELDS = ("calendar_id", "service_area_id", "max_priority")


def update_coverage(
    *,
    actor: Principal,
    coverage: Coverage,
    calendar_id: int | None = None,
    service_area_id: int | None = KEEP,
    max_priority: int | None = None,
) -> Coverage:
    """Change when a party is on duty: its calendar, its service area (``None``: all
    areas) or the priorities it covers. The party stays. Snapshots the matrix and
    recomputes the open tickets after commit."""
    tenant = coverage.tenant
    policies.authorize(actor, CHANGE, tenant)
    before = _fields(coverage, COVERAGE_FIELDS)
    after: dict[str, Any] = {
        "calendar_id": calendar_id if calendar_id is not None else coverage.calendar_id,
        "service_area_id": coverage.service_area_id if service_area_id is KEEP else service_area_id,
        "max_priority": max_priority if max_priority is not None else coverage.max_priority,
    }
    require(
        isinstance(after["max_priority"], int) and 1 <= after["max_priority"] <= MAX_LEVELS,
        "max_priority",
        f"Between 1 and {MAX_LEVELS}.",
    )
    changes = diff(before, after)
    if not changes:
        return coverage
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = ticket_services._in_tenant(
            Calendar, tenant.pk, after["calendar_id"], "calendar_id"
        )
        area = ticket_services._in_tenant(
            ServiceArea, tenant.pk, after["service_area_id"], "service_area_id"
        )
        coverage.calendar = calendar
        coverage.service_area = area
        coverage.max_priority = after["max_priority"]
        coverage.save()
        party = coverage.party
        services._snapshot_matrix(
            actor, tenant, f"Coverage for {party.name} changed: {calendar.name}"
        )
        record_audit(
            actor=actor,
            action="servicedesk.change_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=changes,
        )
        _recompute_after_commit(tenant.pk)
    return coverage


def remove_coverage(*, actor: Principal, coverage: Coverage) -> None:
    """Remove a coverage entry; the matrix version history keeps what it was. A party left
    without entries counts as always on duty (see the matrix page)."""
    tenant = coverage.tenant
    policies.authorize(actor, CHANGE, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        label = f"Coverage for {coverage.party.name} on {coverage.calendar.name} removed"
        record_audit(
            actor=actor,
            action="servicedesk.remove_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=diff({**_fields(coverage, COVERAGE_FIELDS), "party_id": coverage.party_id}, {}),
        )
        coverage.delete()
        services._snapshot_matrix(actor, tenant, label)
        _recompute_after_commit(tenant.pk)


def coverage_for(principal: Principal, coverage_id: int, tenant_id: int | None = None) -> Coverage:
    from tandem.servicedesk import queries

    found = _one(
        Coverage.objects.filter(tenant__in=_reachable(principal).values("pk")), coverage_id
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    return _one(queries.coverage(principal, found.tenant_id).select_related("tenant"), coverage_id)  # type: ignore[no-any-return]

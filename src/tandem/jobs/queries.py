"""Reads of jobs: one job as the reader may see it, a device's jobs, the jobs awaiting the
reader's approval, and the one question the request asks the responsibility matrix: which
party is accountable for this device (:func:`accountable_party`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from tandem.assets.models import Device
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.jobs.machine import DISPATCHABLE, State
from tandem.jobs.models import Job, JobTransition
from tandem.jobs.permissions import VIEW_JOB
from tandem.jobs.policies import approver_party_ids
from tandem.responsibility import routing
from tandem.responsibility.queries import routing_inputs
from tandem.tenancy.choices import PartyKind
from tandem.tenancy.models import Party, ServiceArea


@dataclass(frozen=True)
class Accountable:
    """The party accountable for a device's jobs, and why, in one line."""

    party_id: int
    reason: str


def accountable_party(
    device: Device, *, at: dt.datetime, area_keys: tuple[str, ...] | None = None
) -> Accountable:
    """The Accountable party of the most specific responsibility-matrix row for ``device``
    (its asset group, else its site, else the area-wide row) in the first of ``area_keys``
    (default ``TANDEM_JOBS_SERVICE_AREAS``: server patching, then endpoint patching) that
    has one. With no such row, the tenant's own IT (decision 0029). Runs in the device's
    tenant scope."""
    keys = tuple(area_keys or settings.JOBS_SERVICE_AREAS)
    areas = {
        key: (pk, name)
        for pk, key, name in ServiceArea.objects.filter(
            tenant_id=device.tenant_id, key__in=keys, is_active=True
        ).values_list("pk", "key", "name")
    }
    area_ids = [areas[key][0] for key in keys if key in areas]
    if area_ids:
        context = routing_inputs().routing_context(
            device.tenant_id, area_ids=area_ids, site_ids=[device.site_id]
        )
        best: tuple[int, int, routing.MatrixRow, str] | None = None
        for order, key in enumerate(keys):
            if key not in areas:
                continue
            area_id, area_name = areas[key]
            facts = routing.TicketFacts(
                service_area_id=area_id,
                priority=1,
                at=at,
                site_id=device.site_id,
                asset_group_id=device.asset_group_id,
            )
            rows = routing.matching_rows(context.rows, facts)
            if rows and (best is None or (-rows[0].level, order) < (best[0], best[1])):
                best = (-rows[0].level, order, rows[0], area_name)
        if best is not None:
            row, area_name = best[2], best[3]
            where = ("asset group", "site", "whole area")[2 - row.level]
            name = context.party_names.get(row.accountable_id, "?")
            return Accountable(row.accountable_id, f"{area_name} ({where}) → {name} (accountable)")
    internal = Party.objects.filter(tenant_id=device.tenant_id, kind=PartyKind.INTERNAL).first()
    assert internal is not None, "every tenant has its internal IT party"
    return Accountable(
        internal.pk, f"no responsibility-matrix row for this device → {internal.name} (own IT)"
    )


def jobs(principal: Principal) -> QuerySet[Job]:
    """Every job the principal may see, across the tenants it reaches."""
    return visible(principal, VIEW_JOB, Job.objects.all())


def job(principal: Principal, job_id: int) -> Job:
    """One job the principal may see, else 404 (another tenant's or out of scope)."""
    return get_visible_or_404(
        principal,
        VIEW_JOB,
        Job.objects.select_related(
            "device", "tenant", "approver_party", "approved_by_party", "requested_by_party"
        ),
        pk=job_id,
    )


def device_jobs(principal: Principal, device: Device) -> QuerySet[Job]:
    """A device's jobs the principal may see, newest first."""
    return visible(principal, VIEW_JOB, Job.objects.filter(device=device)).select_related(
        "approver_party"
    )


def history(job: Job) -> QuerySet[JobTransition]:
    """A job's transitions, oldest first (the reader may see the job: the caller checked)."""
    return JobTransition.objects.filter(job=job).order_by("at", "id")


def awaiting_my_approval(principal: Principal) -> QuerySet[Job]:
    """Jobs waiting for a party the principal approves for, across its tenants (a
    provider's people: every client's), oldest first."""
    parties = approver_party_ids(principal)
    if not parties:
        return Job.objects.none()
    mine = Q(pk__in=[])
    for tenant_id, party_ids in parties.items():
        mine |= Q(tenant_id=tenant_id, approver_party_id__in=sorted(party_ids))
    return (
        visible(principal, VIEW_JOB, Job.objects.filter(state=State.AWAITING_APPROVAL))
        .filter(mine)
        .select_related("device", "tenant", "approver_party")
        .order_by("created_at", "id")
    )


def due_jobs(*, device_id: int, now: dt.datetime) -> QuerySet[Job]:
    """The device's jobs waiting to be handed out whose window is open at ``now``, oldest
    first: the partial index ``job_due`` (decision 0030). The one definition of "due",
    for the hand-out and for the check-in's cheap "anything due?" (decision 0028)."""
    return Job.objects.filter(
        device_id=device_id,
        state__in=sorted(DISPATCHABLE),
        not_before__lte=now,
        not_after__gt=now,
    ).order_by("not_before", "id")

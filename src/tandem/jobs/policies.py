"""Who sees, requests and approves which job (decision 0029).

- **Seeing** a job (``jobs.view_job``) follows the device: the tenant's own IT and auditors
  see every job of the tenant, a provider the jobs of the devices inside its engagement's
  sites and asset groups (the same rule as ``assets.policies.device_scope``).
- **Requesting** a job (``jobs.request_job``; a script also needs ``jobs.run_script``) is
  for an access that may see the device; a provider's access also needs its engagement to
  allow jobs (``jobs.request``) and, for a script, ``assets.run_scripts``: the tenant
  decides what its providers may do on its machines, on top of the provider's roles.
- **Approving or rejecting** (``jobs.approve_job``) is for the members of the job's
  ``approver_party`` only (the party accountable for the device when it was requested):
  holding the permission through another party is refused with the rule, and nothing
  changes.
"""

from __future__ import annotations

from django.db.models import Q

from tandem.assets.models import Device
from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.jobs.machine import Kind
from tandem.jobs.models import Job
from tandem.jobs.permissions import (
    APPROVE_JOB,
    ENGAGEMENT_JOBS,
    ENGAGEMENT_SCRIPTS,
    REQUEST_JOB,
    RUN_SCRIPT,
    VIEW_JOB,
)


def job_scope(access: TenantAccess) -> Q:
    """The jobs one access reaches: the tenant's for its own people; those of the devices in
    the engagement's sites and asset groups for a provider (fail closed on unplaced ones)."""
    if access.provider_id is None:
        return Q()
    rule = Q()
    if access.site_ids is not None:
        rule &= Q(device__site_id__in=sorted(access.site_ids))
    if access.asset_group_ids is not None:
        rule &= Q(device__asset_group_id__in=sorted(access.asset_group_ids))
    return rule


view_job = policy(VIEW_JOB)(ScopedPermission(VIEW_JOB, rule=job_scope))
approve_job = policy(APPROVE_JOB)(ScopedPermission(APPROVE_JOB, rule=job_scope))


def _request_rule(access: TenantAccess) -> Q:
    """The devices on which an access may ask for jobs: a provider's only when its
    engagement allows jobs, and inside the engagement's scope."""
    if access.provider_id is None:
        return Q()
    if ENGAGEMENT_JOBS not in access.engagement_actions:
        return Q(pk__in=[])
    rule = Q()
    if access.site_ids is not None:
        rule &= Q(site_id__in=sorted(access.site_ids))
    if access.asset_group_ids is not None:
        rule &= Q(asset_group_id__in=sorted(access.asset_group_ids))
    return rule


# On a device (the request form and endpoint): the permission within the device's scope.
request_job = policy(REQUEST_JOB)(ScopedPermission(REQUEST_JOB, rule=_request_rule))
run_script = policy(RUN_SCRIPT)(ScopedPermission(RUN_SCRIPT))


def _reaches(access: TenantAccess, device: Device) -> bool:
    """Whether the access's engagement scope covers the device (no query: plain ids)."""
    if access.provider_id is None:
        return True
    if access.site_ids is not None and device.site_id not in access.site_ids:
        return False
    return access.asset_group_ids is None or device.asset_group_id in access.asset_group_ids


def requesting_access(principal: Principal, device: Device, kind: str) -> TenantAccess | None:
    """The access through which ``principal`` may ask for a job of ``kind`` on ``device``
    (its tenant's own IT preferred), else None. Plain data: no query."""
    needed = {REQUEST_JOB, RUN_SCRIPT} if kind == Kind.RUN_SCRIPT else {REQUEST_JOB}
    actions = (
        {ENGAGEMENT_JOBS, ENGAGEMENT_SCRIPTS} if kind == Kind.RUN_SCRIPT else {ENGAGEMENT_JOBS}
    )
    candidates = [
        access
        for access in principal.accesses_with(REQUEST_JOB, device.tenant_id)
        if access.party_id is not None
        and needed <= access.permissions
        and _reaches(access, device)
        and (access.provider_id is None or actions <= access.engagement_actions)
    ]
    candidates.sort(key=lambda access: access.provider_id is not None)
    return candidates[0] if candidates else None


def approving_access(principal: Principal, job: Job) -> TenantAccess | None:
    """The access through which ``principal`` approves ``job``: one holding
    ``jobs.approve_job`` for the job's ``approver_party`` and reaching its device."""
    if job.approver_party_id is None:
        return None
    for access in principal.accesses_with(APPROVE_JOB, job.tenant_id):
        if access.party_id == job.approver_party_id and _reaches(access, job.device):
            return access
    return None


def approver_party_ids(principal: Principal) -> dict[int, list[int]]:
    """Tenant id -> the parties through which ``principal`` approves jobs there."""
    found: dict[int, list[int]] = {}
    for access in principal.accesses_with(APPROVE_JOB):
        if access.party_id is not None:
            found.setdefault(access.tenant_id, []).append(access.party_id)
    return found

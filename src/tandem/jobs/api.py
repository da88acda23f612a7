"""The jobs API, one router the registry mounts at ``/api/v1/``: the jobs the caller sees,
one job with its history, the jobs awaiting the caller's approval, a device's jobs and a
new one, and approve / reject / cancel.

Thin handlers: the device or job through the queries (404 out of reach), one service.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.assets import queries as device_queries
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest
from tandem.jobs import queries, services
from tandem.jobs.permissions import APPROVE_JOB, REQUEST_JOB, VIEW_JOB
from tandem.jobs.schemas import JobDetailOut, JobIn, JobOut, JobQuery, NoteIn, ReasonIn

router = Router(tags=["jobs"])


@router.get("/jobs", response=list[JobOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_JOB)
def list_jobs(request: TandemRequest, filters: Query[JobQuery]):  # type: ignore[no-untyped-def]
    """The jobs the caller may see (a provider: on the devices inside its engagements'
    scope, across its client tenants), newest first."""
    rows = queries.jobs(request.principal)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.device_id:
        rows = rows.filter(device_id=filters.device_id)
    if filters.tenant_id:
        rows = rows.filter(tenant_id=filters.tenant_id)
    return rows.order_by("-created_at", "-id")


@router.get("/jobs/awaiting-my-approval", response=list[JobOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(APPROVE_JOB)
def awaiting_my_approval(request: TandemRequest):  # type: ignore[no-untyped-def]
    """Jobs waiting for a party the caller approves for, across its tenants, oldest first."""
    return queries.awaiting_my_approval(request.principal)


@router.get("/jobs/{job_id}", response=JobDetailOut)
@declare_action(VIEW_JOB)
def get_job(request: TandemRequest, job_id: Id):  # type: ignore[no-untyped-def]
    """One job with its output and history."""
    return queries.job(request.principal, job_id)


@router.get("/devices/{device_id}/jobs", response=list[JobOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_JOB)
def device_jobs(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """A device's jobs, newest first."""
    principal = request.principal
    return queries.device_jobs(principal, device_queries.device(principal, device_id))


@router.post("/devices/{device_id}/jobs", response={201: JobDetailOut})
@declare_action(REQUEST_JOB)
def request_job(request: TandemRequest, device_id: Id, payload: JobIn):  # type: ignore[no-untyped-def]
    """Ask for a job on a device. A protected device's job awaits the approval of the
    party accountable for the device; another is approved (or scheduled) at once."""
    principal = request.principal
    device = device_queries.device(principal, device_id)
    job = services.request_job(
        actor=principal,
        device=device,
        kind=payload.kind,
        parameters=payload.parameters,
        reason=payload.reason,
        not_before=payload.not_before,
        not_after=payload.not_after,
    )
    return 201, job


@router.post("/jobs/{job_id}/approve", response=JobDetailOut)
@declare_action(APPROVE_JOB)
def approve_job(request: TandemRequest, job_id: Id, payload: NoteIn | None = None):  # type: ignore[no-untyped-def]
    """Approve a job awaiting approval: members of the accountable party only (403 with
    the rule for anyone else; nothing changes)."""
    principal = request.principal
    job = queries.job(principal, job_id)
    return services.approve_job(actor=principal, job=job, note=payload.note if payload else "")


@router.post("/jobs/{job_id}/reject", response=JobDetailOut)
@declare_action(APPROVE_JOB)
def reject_job(request: TandemRequest, job_id: Id, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """Reject a job awaiting approval, saying why (the approvers only)."""
    principal = request.principal
    job = queries.job(principal, job_id)
    return services.reject_job(actor=principal, job=job, reason=payload.reason)


@router.post("/jobs/{job_id}/cancel", response=JobDetailOut)
@declare_action(VIEW_JOB)
def cancel_job(request: TandemRequest, job_id: Id, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """Withdraw a job that has not started (those who may request or approve it)."""
    principal = request.principal
    job = queries.job(principal, job_id)
    return services.cancel_job(actor=principal, job=job, reason=payload.reason)

"""The jobs' pages: request a job (from the device page), one job with its output and
history (approve, reject, cancel there), and the jobs awaiting the reader's approval.

Handlers are thin: the device or job through the queries (out of reach is 404), the form
parsed, one service called, then the page. A refusal by a service (not the accountable
party, a role or engagement that does not allow it) is shown on the job's page with 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.assets import queries as device_queries
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput, Refused
from tandem.core.pages import submit_form
from tandem.core.request import TandemRequest
from tandem.jobs import queries, services
from tandem.jobs.forms import JobRequestForm, NoteForm, ReasonForm
from tandem.jobs.machine import CANCELLABLE, Kind, State
from tandem.jobs.models import Job
from tandem.jobs.permissions import APPROVE_JOB, REQUEST_JOB, VIEW_JOB
from tandem.jobs.policies import approving_access, requesting_access


@page(REQUEST_JOB)
@require_http_methods(["GET", "POST"])
def job_request(request: TandemRequest, device_id: int) -> HttpResponse:
    """Ask for a job on a device (the form is also on the device page)."""
    principal = request.principal
    device = device_queries.device(principal, device_id)
    kinds = [k.value for k in Kind if requesting_access(principal, device, k.value)]
    if not kinds:
        # No job this reader may ask for here (its role or engagement): no such page.
        raise Http404("no such page")
    form = JobRequestForm(request.POST if request.method == "POST" else None, kinds=kinds)

    def create(data: dict[str, Any]) -> Job:
        now = timezone.now()
        start = now + dt.timedelta(minutes=data["start_in_minutes"])
        return services.request_job(
            actor=principal,
            device=device,
            kind=data["kind"],
            parameters=form.parameters(),
            reason=data["reason"],
            not_before=start,
            not_after=start + dt.timedelta(hours=data["window_hours"]),
            now=now,
        )

    try:
        job, status = submit_form(request, form, create)
    except Refused as refusal:
        form.add_error(None, str(refusal))
        job, status = None, 403
    if job is not None:
        messages.success(request, f"Job {job.pk} requested: {job.state.replace('_', ' ')}.")
        return redirect("jobs:job", job_id=job.pk)
    return render(
        request,
        "jobs/job_request.html",
        {"device": device, "tenant": device.tenant, "form": form, "section": "devices"},
        status=status,
    )


def _detail(
    request: TandemRequest, job: Job, *, status: int = 200, error: str = ""
) -> HttpResponse:
    principal = request.principal
    return render(
        request,
        "jobs/job_detail.html",
        {
            "job": job,
            "device": job.device,
            "tenant": job.tenant,
            "section": "devices",
            "history": queries.history(job),
            "may_approve": job.state == State.AWAITING_APPROVAL
            and approving_access(principal, job) is not None,
            "may_cancel": job.state in CANCELLABLE
            and (
                requesting_access(principal, job.device, job.kind) is not None
                or approving_access(principal, job) is not None
            ),
            "error": error,
        },
        status=status,
    )


@page(VIEW_JOB)
def job_detail(request: TandemRequest, job_id: int) -> HttpResponse:
    """One job: what, on which device, who asked and approved, its output and history."""
    return _detail(request, queries.job(request.principal, job_id))


def _act(request: TandemRequest, job_id: int, action: str) -> HttpResponse:
    principal = request.principal
    job = queries.job(principal, job_id)
    try:
        if action == "approve":
            note = NoteForm(request.POST)
            services.approve_job(
                actor=principal, job=job, note=note.cleaned_data["note"] if note.is_valid() else ""
            )
            messages.success(request, "Job approved.")
        else:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                return _detail(request, job, status=422, error="Say why.")
            if action == "reject":
                services.reject_job(actor=principal, job=job, reason=form.cleaned_data["reason"])
                messages.success(request, "Job rejected.")
            else:
                services.cancel_job(actor=principal, job=job, reason=form.cleaned_data["reason"])
                messages.success(request, "Job cancelled.")
    except Refused as refusal:
        return _detail(request, job, status=403, error=str(refusal))
    except Conflict as conflict:
        return _detail(request, job, status=409, error=str(conflict))
    except InvalidInput as invalid:
        return _detail(request, job, status=422, error=invalid.in_words)
    return redirect("jobs:job", job_id=job.pk)


@page(APPROVE_JOB)
@require_POST
def job_approve(request: TandemRequest, job_id: int) -> HttpResponse:
    """Approve a job: for the members of the party accountable for its device only."""
    return _act(request, job_id, "approve")


@page(APPROVE_JOB)
@require_POST
def job_reject(request: TandemRequest, job_id: int) -> HttpResponse:
    """Reject a job, saying why: the same people as approving."""
    return _act(request, job_id, "reject")


@page(VIEW_JOB)
@require_POST
def job_cancel(request: TandemRequest, job_id: int) -> HttpResponse:
    """Withdraw a job that has not started (the service says who may)."""
    return _act(request, job_id, "cancel")


@page(APPROVE_JOB)
def approvals(request: TandemRequest) -> HttpResponse:
    """The jobs waiting for the reader's approval, across every tenant it approves in."""
    rows = list(queries.awaiting_my_approval(request.principal)[:500])
    return render(request, "jobs/approvals.html", {"jobs": rows, "section": "job-approvals"})

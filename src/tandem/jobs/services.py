"""Writes of jobs: request, approve, reject, cancel; hand out to the device's agent on
check-in and record its result; expire what waited too long (decision 0029).

Keyword-only, actor first, one transaction each. Every state change goes through
:func:`_move`, which checks it against the pure machine (``jobs.machine``), writes the
job's history row (``JobTransition``), an audit entry and the ``job.<state>`` domain event,
all in the caller's transaction: a change is recorded whole or not at all.

The check-in's part (:func:`hand_out_for_check_in`, :func:`record_result`) runs inside the
agents app's check-in transaction. In the common case (no job due) it is one indexed query
and nothing else; a job handed out or finished is a state change and is audited like any
other (decision 0030).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device
from tandem.audit.services import record_audit
from tandem.core.errors import Conflict, InvalidInput, Refused, require
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.jobs import events, machine, queries
from tandem.jobs.machine import CANCELLABLE, Kind, State
from tandem.jobs.models import MAX_OUTPUT_BYTES, Job, JobTransition
from tandem.jobs.parameters import ParameterError, clean
from tandem.jobs.policies import approving_access, requesting_access
from tandem.jobs.queries import accountable_party
from tandem.tenancy.models import Party

#: The default window: a job not started within a day of its start expires.
DEFAULT_WINDOW = dt.timedelta(hours=24)
#: The longest window a job may have (a job is a request for now-ish work, not a plan).
MAX_WINDOW = dt.timedelta(days=30)
#: ``manual`` for a person's request; ``<app>:<reference>`` for another app's
#: (``patching:approval-17``).
ORIGIN = re.compile(r"^(manual|[a-z]+:[A-Za-z0-9_.:/\-]{1,100})$")
#: The output a job keeps when the agent's was longer.
TRUNCATED_NOTE = "\n[output truncated at 64 KiB]"

#: The audit action written for each state a job enters.
ACTIONS: dict[State, str] = {
    State.REQUESTED: "jobs.request_job",
    State.AWAITING_APPROVAL: "jobs.await_job_approval",
    State.APPROVED: "jobs.approve_job",
    State.SCHEDULED: "jobs.schedule_job",
    State.RUNNING: "jobs.dispatch_job",
    State.SUCCEEDED: "jobs.finish_job",
    State.FAILED: "jobs.fail_job",
    State.EXPIRED: "jobs.expire_job",
    State.CANCELLED: "jobs.cancel_job",
    State.REJECTED: "jobs.reject_job",
}


@dataclass(frozen=True)
class RecordedApproval:
    """An approval given elsewhere by the party that app's rules name (the patching app's
    approval of updates by the matrix's party): who (``user_id``, ``label``), for which
    party, when. A system actor passes it to :func:`request_job` so the job shows the
    person and party that approved, not "system"."""

    user_id: int | None
    label: str
    party_id: int | None
    at: dt.datetime


class JobResultError(Exception):
    """A ``job_result`` the server cannot take: the agents app answers it as a 422 with
    ``code`` (``unknown_job`` for a job that does not exist or is another device's)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _move(
    *,
    actor: Principal,
    job: Job,
    target: State,
    now: dt.datetime,
    note: str = "",
    fields: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Take ``job`` to ``target``: the machine's check, the row, its history, the audit
    entry and the event, in the caller's transaction."""
    source = State(job.state) if job.pk is not None else None
    if source is not None:
        machine.check_move(source, target)
    job.state = target
    for name, value in (fields or {}).items():
        setattr(job, name, value)
    if job.pk is None:
        job.save()
    else:
        job.save(update_fields=["state", *(fields or {}), "updated_at"])
    JobTransition.objects.create(
        tenant_id=job.tenant_id,
        job=job,
        from_state=source.value if source else "",
        to_state=target.value,
        at=now,
        actor_label=actor.label[:200],
        note=note[:500],
    )
    record_audit(
        actor=actor,
        action=ACTIONS[target],
        target=job,
        tenant_id=job.tenant_id,
        changes={
            "state": [source.value if source else None, target.value],
            "device_id": [None, job.device_id],
            **({"note": [None, note[:500]]} if note else {}),
            **(changes or {}),
        },
    )
    events.job_changed(actor=actor, job=job, previous=source.value if source else "", note=note)


def _window(
    not_before: dt.datetime | None, not_after: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    start = not_before or now
    end = not_after or max(start, now) + DEFAULT_WINDOW
    require(end > start, "not_after", "The window must end after it begins.")
    require(end > now, "not_after", "The window has already ended.")
    require(end - start <= MAX_WINDOW, "not_after", "A job's window is at most 30 days.")
    return start, end


def _refusal(actor: Principal, device: Device, kind: str) -> str:
    """Why ``actor`` may not ask for this job, naming only rules (never what it cannot see)."""
    accesses = actor.accesses_in(device.tenant_id)
    if accesses and all(a.provider_id is not None for a in accesses if a.party_id):
        return (
            "Your role or your engagement with this tenant does not allow this job on this "
            "device (the tenant allows jobs per engagement: 'jobs.request', and for scripts "
            "also 'assets.run_scripts')."
        )
    if kind == Kind.RUN_SCRIPT:
        return "Your role does not allow running scripts on devices."
    return "Your role does not allow jobs on devices."


def request_job(
    *,
    actor: Principal,
    device: Device,
    kind: str,
    parameters: dict[str, Any] | None,
    reason: str,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    origin: str = "manual",
    approve: bool = False,
    area_keys: tuple[str, ...] | None = None,
    now: dt.datetime | None = None,
    recorded_approval: RecordedApproval | None = None,
) -> Job:
    """Ask for a job on ``device`` (which the caller has found as ``actor`` sees it).

    The actor needs ``jobs.request_job`` (and ``jobs.run_script`` for a script) through an
    access that reaches the device; a provider also its engagement's ``jobs.request`` (and
    ``assets.run_scripts``). The job's ``approver_party`` is the party accountable for the
    device now (:func:`~tandem.jobs.queries.accountable_party`, with ``area_keys`` when the
    caller knows its service areas better, e.g. patching). A protected device's job awaits
    that party's approval; another is approved at once, or scheduled when its window lies
    ahead. ``approve=True`` approves it in the same step, for an actor who may approve it
    (a member of the accountable party, or a system actor acting on an approval recorded
    elsewhere, such as the patching app's); anyone else is refused. A system actor names
    that approval with ``recorded_approval``: the job then records its person and party
    as the approver (the audit entry's actor stays the system).
    """
    now = now or timezone.now()
    try:
        cleaned = clean(kind, parameters)
    except ParameterError as error:
        raise InvalidInput({error.field: [error.message]}) from error
    reason = (reason or "").strip()
    require(bool(reason), "reason", "Say why the job is needed.")
    require(len(reason) <= 500, "reason", "At most 500 characters.")
    require(bool(ORIGIN.match(origin or "")), "origin", "origin: manual or <app>:<reference>.")
    start, end = _window(not_before, not_after, now)
    require(device.status == DeviceStatus.ACTIVE, "device", "The device is retired.")
    if recorded_approval is not None and not (actor.is_system and approve):
        raise Refused("Only the system names an approval given elsewhere.")
    access = None
    if not actor.is_system:
        access = requesting_access(actor, device, kind)
        if access is None:
            raise Refused(_refusal(actor, device, kind))
    with transaction.atomic(), within_tenant(device.tenant_id):
        accountable = accountable_party(device, at=now, area_keys=area_keys)
        job = Job(
            tenant_id=device.tenant_id,
            device=device,
            kind=kind,
            parameters=cleaned,
            reason=reason,
            origin=origin,
            requested_by_id=actor.user_id,
            requested_by_label=actor.label[:200],
            requested_by_party_id=access.party_id if access else None,
            approval_required=device.protected,
            approver_party_id=accountable.party_id,
            approver_reason=accountable.reason[:300],
            not_before=start,
            not_after=end,
        )
        approval_party: int | None = None
        if approve:
            if actor.is_system:
                approval_party = accountable.party_id
            else:
                approver = approving_access(actor, job)
                if approver is None:
                    raise Refused(_not_accountable(job))
                approval_party = approver.party_id
        _move(
            actor=actor,
            job=job,
            target=State.REQUESTED,
            now=now,
            note=reason,
            changes={
                "kind": [None, kind],
                "origin": [None, origin],
                "approver_party_id": [None, accountable.party_id],
                "not_before": [None, start.isoformat()],
                "not_after": [None, end.isoformat()],
            },
        )
        if recorded_approval is not None:
            _approve(
                actor=actor,
                job=job,
                party_id=recorded_approval.party_id,
                now=now,
                note=f"approved by {recorded_approval.label}"[:500],
                approver=recorded_approval,
            )
        elif approval_party is not None:
            _approve(actor=actor, job=job, party_id=approval_party, now=now, note="")
        else:
            target = machine.after_request(
                needs_approval=job.approval_required, not_before=start, now=now
            )
            note = (
                f"protected device: needs the approval of {accountable.reason}"
                if target == State.AWAITING_APPROVAL
                else "device not protected: no approval needed"
            )
            _move(actor=actor, job=job, target=target, now=now, note=note)
    return job


def _not_accountable(job: Job) -> str:
    with within_tenant(job.tenant_id):
        party = (
            Party.objects.filter(pk=job.approver_party_id).first()
            if job.approver_party_id is not None
            else None
        )
    name = party.name if party else "the accountable party"
    return (
        f"Only {name}, the party accountable for this device, may approve or reject this job; "
        "nothing was changed."
    )


def _approve(
    *,
    actor: Principal,
    job: Job,
    party_id: int | None,
    now: dt.datetime,
    note: str,
    approver: RecordedApproval | None = None,
) -> None:
    _move(
        actor=actor,
        job=job,
        target=machine.after_approval(not_before=job.not_before, now=now),
        now=now,
        note=note or "approved",
        fields={
            "approved_by_id": approver.user_id if approver else actor.user_id,
            "approved_by_label": (approver.label if approver else actor.label)[:200],
            "approved_by_party_id": party_id,
            "approved_at": approver.at if approver else now,
        },
        changes={"approved_by_party_id": [None, party_id]},
    )


def _locked(job: Job) -> Job:
    return Job.objects.select_for_update().select_related("device").get(pk=job.pk)


def approve_job(
    *, actor: Principal, job: Job, note: str = "", now: dt.datetime | None = None
) -> Job:
    """Approve a job awaiting approval: only a member of its ``approver_party`` (with
    ``jobs.approve_job``) may; anyone else is refused with the rule and nothing changes.
    The job is then approved (runs at the next check-in) or scheduled (its window ahead)."""
    now = now or timezone.now()
    note = (note or "").strip()[:500]
    with transaction.atomic(), within_tenant(job.tenant_id):
        job = _locked(job)
        access = None if actor.is_system else approving_access(actor, job)
        if access is None and not actor.is_system:
            raise Refused(_not_accountable(job))
        if job.state != State.AWAITING_APPROVAL:
            raise Conflict(f"This job is not awaiting approval (it is {job.state}).")
        if now >= job.not_after:
            raise Conflict("This job's window has closed; it can no longer be approved.")
        _approve(
            actor=actor,
            job=job,
            party_id=access.party_id if access else job.approver_party_id,
            now=now,
            note=note,
        )
    return job


def reject_job(*, actor: Principal, job: Job, reason: str, now: dt.datetime | None = None) -> Job:
    """Refuse a job awaiting approval, saying why: the same people as :func:`approve_job`."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    require(bool(reason), "reason", "Say why the job is rejected.")
    require(len(reason) <= 500, "reason", "At most 500 characters.")
    with transaction.atomic(), within_tenant(job.tenant_id):
        job = _locked(job)
        access = None if actor.is_system else approving_access(actor, job)
        if access is None and not actor.is_system:
            raise Refused(_not_accountable(job))
        if job.state != State.AWAITING_APPROVAL:
            raise Conflict(f"This job is not awaiting approval (it is {job.state}).")
        _move(actor=actor, job=job, target=State.REJECTED, now=now, note=reason)
    return job


def cancel_job(*, actor: Principal, job: Job, reason: str, now: dt.datetime | None = None) -> Job:
    """Withdraw a job that has not started: for those who may ask for such a job on the
    device, and for its approvers. A running job cannot be cancelled (the agent is not
    told to stop): it ends with its result."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    require(bool(reason), "reason", "Say why the job is cancelled.")
    require(len(reason) <= 500, "reason", "At most 500 characters.")
    with transaction.atomic(), within_tenant(job.tenant_id):
        job = _locked(job)
        if not actor.is_system and (
            requesting_access(actor, job.device, job.kind) is None
            and approving_access(actor, job) is None
        ):
            raise Refused("You may cancel only jobs you may request or approve.")
        if job.state not in CANCELLABLE:
            raise Conflict(f"This job can no longer be cancelled (it is {job.state}).")
        _move(actor=actor, job=job, target=State.CANCELLED, now=now, note=reason)
    return job


# --- The check-in's part (decision 0030) ----------------------------------------------------


def wire_job(job: Job) -> dict[str, Any]:
    """A job as the agent receives it in the check-in answer (decision 0025)."""
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "parameters": job.parameters,
        "not_after": job.not_after.isoformat(),
    }


def hand_out_for_check_in(
    *, actor: Principal, device_id: int, now: dt.datetime
) -> list[dict[str, Any]]:
    """The jobs due on the device checking in (approved or scheduled, window open), marked
    running and handed out. Called inside the check-in's transaction and tenant scope,
    which holds the device's agent-state lock: two check-ins of one device never hand out
    the same job.

    One query on the partial index ``job_due`` (only jobs waiting to be handed out are in
    it; ``queries.due_jobs``); with nothing due, that is all, and the check-in skips even
    that when its state read already found none due (decision 0028). A job whose window
    closed stays for :func:`expire_jobs`."""
    due = list(queries.due_jobs(device_id=device_id, now=now))
    for job in due:
        _move(
            actor=actor,
            job=job,
            target=State.RUNNING,
            now=now,
            note="handed to the agent at check-in",
            fields={"dispatched_at": now, "started_at": now},
        )
    return [wire_job(job) for job in due]


def _cap(output: str) -> tuple[str, bool]:
    encoded = output.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_OUTPUT_BYTES:
        return output, False
    kept = encoded[: MAX_OUTPUT_BYTES - len(TRUNCATED_NOTE.encode())].decode(
        "utf-8", errors="ignore"
    )
    return kept + TRUNCATED_NOTE, True


def record_result(
    *,
    actor: Principal,
    device_id: int,
    job_id: str | None,
    status: str | None,
    exit_code: int | None,
    output: str | None,
    report_id: uuid.UUID | None,
    now: dt.datetime,
) -> Job:
    """Take the agent's ``job_result`` for one of its device's jobs (inside the check-in's
    transaction). A job that does not exist or is another device's raises
    :class:`JobResultError` ``unknown_job`` (the whole check-in is refused, decision 0027);
    an unknown status ``invalid``. A running job ends succeeded or failed (a refusal by the
    agent is a failure, its reason in the output); a result for a job that already ended
    (it failed "no result", or was never handed out) changes nothing but the history."""
    try:
        pk = int(job_id or "")
    except ValueError:
        pk = 0
    job = Job.objects.select_for_update().filter(pk=pk, device_id=device_id).first() if pk else None
    if job is None:
        raise JobResultError("unknown_job", f"no job {job_id!r} for this device.")
    target = machine.result_state(status or "")
    if target is None:
        raise JobResultError(
            "invalid", f"job {job_id}: status must be succeeded, failed or refused."
        )
    text, truncated = _cap(output or "")
    if job.state != State.RUNNING:
        JobTransition.objects.create(
            tenant_id=job.tenant_id,
            job=job,
            from_state=job.state,
            to_state=job.state,
            at=now,
            actor_label=actor.label[:200],
            note=f"a late result ({status}, exit code {exit_code}) was ignored",
        )
        return job
    note = f"the agent reported {status}" + (
        f", exit code {exit_code}" if exit_code is not None else ""
    )
    _move(
        actor=actor,
        job=job,
        target=target,
        now=now,
        note=note,
        fields={
            "finished_at": now,
            "exit_code": exit_code,
            "output": text,
            "output_truncated": truncated,
            "result_report_id": report_id,
        },
        changes={"exit_code": [None, exit_code], "status": [None, status]},
    )
    return job


# --- Periodic ------------------------------------------------------------------------------


def expire_jobs(*, now: dt.datetime | None = None) -> int:
    """Expire the jobs whose window closed before they started, and fail the running ones
    with no result after ``TANDEM_JOBS_RESULT_MINUTES`` ("no result"). Periodic
    (``expire-jobs``, every minute); idempotent. Returns how many jobs changed."""
    now = now or timezone.now()
    actor = system_principal("expire jobs")
    limit = dt.timedelta(minutes=settings.JOBS_RESULT_MINUTES)
    with system_context("expire jobs: every tenant's waiting and running jobs"):
        candidates = list(
            Job.objects.filter(state__in=sorted(machine.WAITING), not_after__lte=now).values_list(
                "pk", "tenant_id"
            )
        ) + list(
            Job.objects.filter(state=State.RUNNING, dispatched_at__lte=now - limit).values_list(
                "pk", "tenant_id"
            )
        )
    changed = 0
    for pk, tenant_id in candidates:
        with transaction.atomic(), within_tenant(tenant_id):
            job = Job.objects.select_for_update().get(pk=pk)
            state = State(job.state)
            if machine.window_closed(state=state, not_after=job.not_after, now=now):
                _move(
                    actor=actor,
                    job=job,
                    target=State.EXPIRED,
                    now=now,
                    note="its window closed before it started",
                )
                changed += 1
            elif machine.overdue(
                state=state, dispatched_at=job.dispatched_at, now=now, limit=limit
            ):
                _move(
                    actor=actor,
                    job=job,
                    target=State.FAILED,
                    now=now,
                    note="no result",
                    fields={"finished_at": now, "output": "no result from the agent"},
                )
                changed += 1
    return changed

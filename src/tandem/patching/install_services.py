"""Approved updates become jobs inside maintenance windows, and the jobs' results come back
as per-device feedback (decision 0031, "From approval to job").

- :func:`schedule_installs` (periodic, ``schedule-installs``): the install plans
  (``scheduling.plan_installs``) whose window is open or opens within
  :data:`SCHEDULE_AHEAD` become ``install_updates`` jobs (``jobs.services.request_job``)
  with ``not_before``/``not_after`` = the window and ``origin`` = the plan's origin (one per
  device and window occurrence). Idempotent on the origin: a live job for it with the same
  packages is left alone; one not yet handed out whose packages differ from the plan's
  (the approved set changed) is cancelled and replaced in the same transaction; one handed
  out or finished, or cancelled or rejected by a person, ends that window for the device
  (what is left waits for the next window). A waiting job whose device no longer has a
  plan (an approval withdrawn, the window removed) is cancelled.
- **Approval.** When every update of a plan was approved by a person (``decide_updates``
  already checked that person acts for the party the matrix names), the job is approved
  in the same step as the system, recording that person and party as its approver
  (``jobs.services.RecordedApproval``): a protected device's job shows who approved.
  When some update was approved by policy only (``auto``), the job follows the jobs app's
  rule: a protected device's job awaits its accountable party.
- **Reboots** (:func:`schedule_reboots`, same task): after an install job succeeded, a
  ``reboot`` job when the device's reboot policy says ``always``, or ``if_required`` and the
  agent said a reboot is required (the agent's install output ends with
  :data:`REBOOT_REQUIRED_MARK`); window: from now to the window's end plus the policy's
  deadline hours. Origin ``<install origin>:reboot``, once.
- **Feedback** (:func:`record_job_feedback`, from ``job.succeeded`` / ``job.failed``):
  ``services.record_install_feedback`` for the device's updates the job named. A job that
  expired, was rejected or cancelled records no outcome: its updates are still missing and
  approved, and the next window plans them again. The next inventory confirms the
  install (``installed_at``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tandem.assets.models import Device
from tandem.core.errors import Conflict, InvalidInput, Refused
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.jobs import services as jobs
from tandem.jobs.machine import WAITING, Kind, State
from tandem.jobs.models import Job
from tandem.patching import queries, scheduling, services
from tandem.patching.choices import Approval, JobOutcome, UpdateStatus
from tandem.patching.models import DeviceUpdateState

#: Plans whose window opens within this become jobs now (shown as scheduled on the device).
SCHEDULE_AHEAD = dt.timedelta(hours=24)
#: The most jobs one run makes or replaces (the rest: the next run, minutes later).
MAX_JOBS_PER_RUN = 500
#: Install jobs this old or older are no longer followed by a reboot job.
REBOOT_LOOKBACK = dt.timedelta(days=7)
ORIGIN_PREFIX = "patching:device:"
REBOOT_SUFFIX = ":reboot"
#: The line the agent ends an install's output with when the system asks for a reboot.
REBOOT_REQUIRED_MARK = "[tandem: reboot required]"
REPLACED = "replaced: the approved updates for this window changed"
WITHDRAWN = "withdrawn: no approved update is planned for this device in this window now"
_ACTOR = "patching: approved updates into jobs"


@dataclass
class ScheduleResult:
    """What one run of :func:`schedule_installs` did."""

    created: int = 0
    replaced: int = 0
    withdrawn: int = 0
    reboots: int = 0
    refused: int = 0


def _tenants_to_plan() -> list[int]:
    """Tenants with approved missing updates or a waiting patching job (one query each)."""
    with system_context("patching: tenants with approved updates"):
        approved = DeviceUpdateState.objects.filter(
            status=UpdateStatus.MISSING, approval__in=[Approval.AUTO, Approval.APPROVED]
        ).values_list("tenant_id", flat=True)
        waiting = Job.objects.filter(
            kind=Kind.INSTALL_UPDATES,
            origin__startswith=ORIGIN_PREFIX,
            state__in=sorted(WAITING),
        ).values_list("tenant_id", flat=True)
        return sorted(set(approved.distinct()) | set(waiting.distinct()))


def schedule_installs(*, now: dt.datetime | None = None) -> ScheduleResult:
    """Turn every tenant's install plans into jobs (see the module). Periodic and
    idempotent; at most :data:`MAX_JOBS_PER_RUN` jobs made per run. The jobs it makes and
    cancels are audited by the jobs app (their actor names this task)."""
    now = now or timezone.now()
    result = ScheduleResult()
    for tenant_id in _tenants_to_plan():
        if result.created + result.replaced >= MAX_JOBS_PER_RUN:
            break
        _schedule_tenant(tenant_id, now, result)
    schedule_reboots(now=now, result=result)
    return result


def _schedule_tenant(tenant_id: int, now: dt.datetime, result: ScheduleResult) -> None:
    actor = system_principal(_ACTOR)
    with within_tenant(tenant_id):
        devices, candidates = queries.install_plan_inputs(tenant_id, now)
        plans = [
            plan
            for plan in scheduling.plan_installs(devices=devices, candidates=candidates, now=now)
            if plan.window_start <= now + SCHEDULE_AHEAD
        ]
        by_origin = {plan.origin: plan for plan in plans}
        existing = _latest_jobs(tenant_id, by_origin)
        approvals = _approvals(tenant_id, plans)
        area = queries.patching_area(tenant_id)
        area_keys = (area.key,) if area is not None else None
        device_rows = Device.objects.in_bulk([plan.device_id for plan in plans])
    for origin, stale in existing.items():
        if (
            origin not in by_origin
            and stale.state in WAITING
            and _cancel(actor, stale, WITHDRAWN, now)
        ):
            result.withdrawn += 1
    for plan in plans:
        if result.created + result.replaced >= MAX_JOBS_PER_RUN:
            return
        job = existing.get(plan.origin)
        packages = sorted({p.package for p in plan.packages})
        if job is not None and not _replaceable(job, packages):
            continue
        device = device_rows.get(plan.device_id)
        if device is None:
            continue
        try:
            with transaction.atomic():
                if (
                    job is not None
                    and job.state in WAITING
                    and not _cancel(actor, job, REPLACED, now)
                ):
                    continue  # handed out meanwhile: it runs; the rest waits
                _request(actor, device, plan, packages, approvals, area_keys, now)
        except (Refused, InvalidInput, Conflict):
            result.refused += 1
            continue
        if job is not None:
            result.replaced += 1
        else:
            result.created += 1


def _replaceable(job: Job, packages: list[str]) -> bool:
    """Whether the plan needs a new job although ``job`` exists for its origin: the job is
    waiting and names other packages, or the scheduler itself withdrew it."""
    if job.state in WAITING:
        return sorted(job.parameters.get("packages") or []) != packages
    if job.state == State.CANCELLED:
        last = job.transitions.order_by("-at", "-id").values_list("note", flat=True).first()
        return last == WITHDRAWN
    return False


def _latest_jobs(tenant_id: int, plans: dict[str, scheduling.InstallPlan]) -> dict[str, Job]:
    """The latest install job of each plan's origin, and every waiting patching install
    job of the tenant (to withdraw those without a plan)."""
    rows = Job.objects.filter(
        tenant_id=tenant_id, kind=Kind.INSTALL_UPDATES, origin__startswith=ORIGIN_PREFIX
    ).filter(origin__in=list(plans)) | Job.objects.filter(
        tenant_id=tenant_id,
        kind=Kind.INSTALL_UPDATES,
        origin__startswith=ORIGIN_PREFIX,
        state__in=sorted(WAITING),
    )
    latest: dict[str, Job] = {}
    for job in rows.order_by("id"):
        latest[job.origin] = job
    return latest


def _approvals(
    tenant_id: int, plans: Iterable[scheduling.InstallPlan]
) -> dict[tuple[int, int], DeviceUpdateState]:
    """The missing states of the plans' updates, with who approved them."""
    plans = list(plans)
    if not plans:
        return {}
    states = DeviceUpdateState.objects.filter(
        tenant_id=tenant_id,
        device_id__in=[p.device_id for p in plans],
        status=UpdateStatus.MISSING,
        entry_id__in=sorted({pkg.entry_id for p in plans for pkg in p.packages}),
    ).select_related("approved_by", "approved_party")
    return {(s.device_id, s.entry_id): s for s in states}


def _approval_text(state: DeviceUpdateState | None) -> str:
    if state is None or state.approval != Approval.APPROVED:
        return "by policy"
    who = str(state.approved_by) if state.approved_by else "someone"
    return f"approved by {who} for {state.approved_party or 'the matrix party'}"


def _request(
    actor: Principal,
    device: Device,
    plan: scheduling.InstallPlan,
    packages: list[str],
    approvals: dict[tuple[int, int], DeviceUpdateState],
    area_keys: tuple[str, ...] | None,
    now: dt.datetime,
) -> Job:
    states = [approvals.get((plan.device_id, p.entry_id)) for p in plan.packages]
    by_person = [s for s in states if s is not None and s.approval == Approval.APPROVED]
    recorded = None
    if by_person and len(by_person) == len(states):
        latest = max(by_person, key=lambda s: (s.approved_at or now, s.pk))
        recorded = jobs.RecordedApproval(
            user_id=latest.approved_by_id,
            label=_approval_text(latest).removeprefix("approved by ")[:200],
            party_id=latest.approved_party_id,
            at=latest.approved_at or now,
        )
    listed = "; ".join(
        f"{p.package} {p.version} ({_approval_text(s)})"
        for p, s in zip(plan.packages, states, strict=True)
    )
    window = f"{plan.window_start:%Y-%m-%d %H:%M}–{plan.window_end:%H:%M} UTC"
    reason = f"Approved updates in the maintenance window {window}: {listed}"
    if len(reason) > 500:
        reason = reason[:497] + "..."
    return jobs.request_job(
        actor=actor,
        device=device,
        kind=Kind.INSTALL_UPDATES,
        parameters={"packages": packages},
        reason=reason,
        not_before=plan.window_start,
        not_after=plan.window_end,
        origin=plan.origin,
        approve=recorded is not None,
        area_keys=area_keys,
        now=now,
        recorded_approval=recorded,
    )


def _cancel(actor: Principal, job: Job, reason: str, now: dt.datetime) -> bool:
    """Cancel a waiting job; False when it was handed out meanwhile (it runs and reports)."""
    try:
        jobs.cancel_job(actor=actor, job=job, reason=reason, now=now)
    except Conflict:
        return False
    return True


def schedule_reboots(
    *, now: dt.datetime | None = None, result: ScheduleResult | None = None
) -> int:
    """A ``reboot`` job after each install job that succeeded in the last
    :data:`REBOOT_LOOKBACK`, where the device's reboot policy asks for one (see the module).
    Once per install job (origin ``<install origin>:reboot``). Returns how many were made."""
    now = now or timezone.now()
    actor = system_principal("patching: reboot after installed updates")
    with system_context("patching: install jobs that may need a reboot"):
        installs = list(
            Job.objects.filter(
                kind=Kind.INSTALL_UPDATES,
                origin__startswith=ORIGIN_PREFIX,
                state=State.SUCCEEDED,
                finished_at__gte=now - REBOOT_LOOKBACK,
            ).select_related("device", "device__tenant")
        )
        done = set(
            Job.objects.filter(
                kind=Kind.REBOOT,
                origin__in=[job.origin + REBOOT_SUFFIX for job in installs],
            ).values_list("origin", flat=True)
        )
    made = 0
    for install in installs:
        origin = install.origin + REBOOT_SUFFIX
        if origin in done:
            continue
        with within_tenant(install.tenant_id):
            policy = queries.effective_policy(install.device)
        mode = policy["reboot_mode"]
        required = REBOOT_REQUIRED_MARK in install.output
        if mode == "never" or (mode == "if_required" and not required):
            continue
        deadline = install.not_after + dt.timedelta(hours=policy["reboot_deadline_hours"])
        if deadline <= now:
            continue
        recorded = (
            jobs.RecordedApproval(
                user_id=install.approved_by_id,
                label=install.approved_by_label,
                party_id=install.approved_by_party_id,
                at=install.approved_at,
            )
            if install.approved_at is not None and install.approved_by_id is not None
            else None
        )
        try:
            jobs.request_job(
                actor=actor,
                device=install.device,
                kind=Kind.REBOOT,
                parameters={"delay_minutes": 1},
                reason=(
                    f"Reboot after the updates of job {install.pk} "
                    f"(reboot policy: {mode}{', the system asked for one' if required else ''})"
                ),
                not_before=now,
                not_after=deadline,
                origin=origin,
                approve=recorded is not None,
                now=now,
                recorded_approval=recorded,
            )
        except (Refused, InvalidInput, Conflict):
            continue
        made += 1
    if result is not None:
        result.reboots += made
    return made


def record_job_feedback(*, job_id: int) -> int:
    """The result of a patching install job (succeeded or failed) as feedback on the
    device's updates the job named (``services.record_install_feedback``); any other job
    is ignored. Returns how many update states it touched."""
    with system_context("patching: an install job's result"):
        job = Job.objects.filter(pk=job_id).select_related("device", "device__tenant").first()
    if (
        job is None
        or job.kind != Kind.INSTALL_UPDATES
        or not job.origin.startswith(ORIGIN_PREFIX)
        or job.state not in (State.SUCCEEDED, State.FAILED)
    ):
        return 0
    packages = job.parameters.get("packages")
    with within_tenant(job.tenant_id):
        states = DeviceUpdateState.objects.filter(device_id=job.device_id)
        if isinstance(packages, list):
            states = states.filter(entry__package__in=packages)
        # The updates the job was for: still missing, or installed since it was asked for
        # (the inventory of the same check-in may have been taken first).
        entry_ids = list(
            states.filter(
                status=UpdateStatus.MISSING, approval__in=[Approval.APPROVED, Approval.AUTO]
            ).values_list("entry_id", flat=True)
        ) + list(
            states.filter(
                status=UpdateStatus.INSTALLED, installed_at__gte=job.created_at
            ).values_list("entry_id", flat=True)
        )
    if not entry_ids:
        return 0
    outcome = JobOutcome.SUCCEEDED if job.state == State.SUCCEEDED else JobOutcome.FAILED
    message = (job.output or "").strip().splitlines()[-1:] or [""]
    return services.record_install_feedback(
        actor=system_principal(f"patching: result of job {job.pk}"),
        device=job.device,
        entry_ids=entry_ids,
        outcome=outcome,
        message=f"job {job.pk} {job.state}: {message[0]}"[:2000],
        reboot_required=REBOOT_REQUIRED_MARK in (job.output or ""),
    )

"""Jobs' services on the persona world: who may request and approve, the approval by the
party accountable for the device (and the refusal of any other), the check-in's hand-out
and results, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.audit.models import AuditEntry
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context
from tandem.jobs import queries, services
from tandem.jobs.machine import State
from tandem.jobs.models import MAX_OUTPUT_BYTES, Job, JobTransition
from tandem.jobs.services import JobResultError
from tandem.responsibility.services import add_matrix_row
from tandem.tenancy.models import Engagement, Tenant
from tandem.tenancy.services import rescope_engagement

pytestmark = pytest.mark.django_db


def _as(world: World, persona: str) -> Principal:
    return resolve_principal(user_of(world, persona))


def _device(world: World, name: str = "device") -> Device:
    with system_context("test: a device"):
        return Device.objects.get(pk=world[name])


def _job(pk: int) -> Job:
    with system_context("test: a job"):
        return Job.objects.select_related("device").get(pk=pk)


def _audit_count() -> int:
    with system_context("test: count audit entries"):
        return AuditEntry.objects.count()


def _protect(world: World, name: str = "device") -> Device:
    return update_device(actor=_as(world, "owner"), device=_device(world, name), protected=True)


def _northwind_accountable_for_hq_servers(world: World) -> None:
    """Acme's matrix: Northwind is Responsible and Accountable for server patching of its
    "Acme HQ servers" asset group (the world's ``device`` is in it)."""
    with system_context("test: the tenant"):
        acme = Tenant.objects.get(pk=world["tenant"])
    add_matrix_row(
        actor=_as(world, "owner"),
        tenant=acme,
        service_area_id=world["service_area"],
        asset_group_id=world["asset_group"],
        responsible_id=world["party"],
        accountable_id=world["party"],
    )


def _allow_jobs(world: World, *actions: str) -> None:
    with system_context("test: the engagement"):
        engagement = Engagement.objects.get(pk=world["engagement"])
    rescope_engagement(
        actor=_as(world, "owner"),
        engagement=engagement,
        allowed_actions=[*engagement.allowed_actions, *actions],
    )


def _reboot(world: World, persona: str = "owner", device: str = "device", **options) -> Job:  # type: ignore[no-untyped-def]
    return services.request_job(
        actor=_as(world, persona),
        device=_device(world, device),
        kind="reboot",
        parameters={"delay_minutes": 2},
        reason="Kernel update",
        **options,
    )


def _states(job: Job) -> list[str]:
    with system_context("test: a job's history"):
        return list(
            JobTransition.objects.filter(job=job)
            .order_by("at", "id")
            .values_list("to_state", flat=True)
        )


def test_a_protected_device_s_job_is_approved_by_the_accountable_party_only(world) -> None:  # type: ignore[no-untyped-def]
    _northwind_accountable_for_hq_servers(world)
    _protect(world)
    job = _reboot(world)
    assert job.state == State.AWAITING_APPROVAL
    assert job.approver_party_id == world["party"]
    assert "Northwind" in job.approver_reason

    # Acme's own IT holds the approval permission, but Northwind is accountable here.
    before = _audit_count()
    with pytest.raises(PermissionDenied, match="Only Northwind"):
        services.approve_job(actor=_as(world, "internal_tech"), job=_job(job.pk))
    assert _job(job.pk).state == State.AWAITING_APPROVAL
    assert _audit_count() == before

    approved = services.approve_job(actor=_as(world, "provider_admin"), job=_job(job.pk))
    assert approved.state == State.APPROVED
    assert approved.approved_by_party_id == world["party"]
    assert approved.approved_by_label
    assert _states(job) == ["requested", "awaiting_approval", "approved"]
    # A provider's approver lists it among its approvals until then; not after.
    with system_context("test: the approvals list"):
        assert not queries.awaiting_my_approval(_as(world, "provider_admin")).filter(pk=job.pk)


def test_an_approval_by_a_party_that_does_not_own_the_device_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    """Issue 11, "done when": the world's matrix leaves Acme's own IT accountable; Northwind
    sees the device and holds the approval permission, and is refused, changing nothing."""
    _protect(world)
    job = _reboot(world)
    assert job.approver_party_id == world["internal_party"]
    before = (_audit_count(), _states(job))
    with pytest.raises(PermissionDenied) as refusal:
        services.approve_job(actor=_as(world, "provider_admin"), job=_job(job.pk))
    assert "the party accountable for this device" in str(refusal.value)
    with pytest.raises(PermissionDenied):
        services.reject_job(actor=_as(world, "provider_admin"), job=_job(job.pk), reason="no")
    assert (_audit_count(), _states(job)) == before
    assert _job(job.pk).state == State.AWAITING_APPROVAL
    with system_context("test: the approvals list"):
        awaiting = set(queries.awaiting_my_approval(_as(world, "owner")))
        assert _job(job.pk) in awaiting
        assert not queries.awaiting_my_approval(_as(world, "provider_admin")).filter(pk=job.pk)


def test_a_provider_requests_only_what_its_engagement_allows_and_reaches(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied, match="engagement"):
        _reboot(world, "provider_admin")
    _allow_jobs(world, "jobs.request")
    job = _reboot(world, "provider_admin")
    assert job.state == State.APPROVED  # not protected: no approval needed
    assert job.requested_by_party_id == world["party"]
    # A script needs the engagement's "assets.run_scripts" too.
    with pytest.raises(PermissionDenied):
        services.request_job(
            actor=_as(world, "provider_admin"),
            device=_device(world),
            kind="run_script",
            parameters={"script": "id"},
            reason="who am I",
        )
    # The Branch device is outside Northwind's engagement (HQ only).
    with pytest.raises(PermissionDenied):
        _reboot(world, "provider_admin", "device_out_of_scope")
    # A technician may request (its role) but not run scripts.
    assert _reboot(world, "provider_tech").state == State.APPROVED


def test_bad_input_is_refused_and_nothing_is_written(world) -> None:  # type: ignore[no-untyped-def]
    before = _audit_count()
    with pytest.raises(InvalidInput) as error:
        services.request_job(
            actor=_as(world, "owner"),
            device=_device(world),
            kind="run_script",
            parameters={"script": "id", "interpreter": "python"},
            reason="x",
        )
    assert "interpreter" in error.value.field_errors
    now = timezone.now()
    with pytest.raises(InvalidInput):
        _reboot(
            world, not_before=now - dt.timedelta(hours=3), not_after=now - dt.timedelta(hours=1)
        )
    with pytest.raises(InvalidInput):
        _reboot(world, origin="somewhere else")
    assert _audit_count() == before


def test_a_job_with_its_window_ahead_is_scheduled_and_handed_out_once_it_opens(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    job = _reboot(world, not_before=now + dt.timedelta(hours=1))
    assert job.state == State.SCHEDULED
    device = _device(world)
    agent = system_principal("test: the device's agent")
    with system_context("test: a check-in"):
        assert services.hand_out_for_check_in(actor=agent, device_id=device.pk, now=now) == []
        handed = services.hand_out_for_check_in(
            actor=agent, device_id=device.pk, now=now + dt.timedelta(hours=1, minutes=1)
        )
        assert [h["id"] for h in handed] == [str(job.pk)]
        assert handed[0]["parameters"] == {"delay_minutes": 2}
        # Running now: not handed out again.
        assert (
            services.hand_out_for_check_in(
                actor=agent, device_id=device.pk, now=now + dt.timedelta(hours=2)
            )
            == []
        )
    assert _job(job.pk).state == State.RUNNING


def test_a_check_in_with_no_job_due_costs_one_query(world) -> None:  # type: ignore[no-untyped-def]
    agent = system_principal("test: the device's agent")
    with system_context("test: a check-in"), CaptureQueriesContext(connection) as queries_run:
        assert (
            services.hand_out_for_check_in(
                actor=agent, device_id=world["device_unplaced"], now=timezone.now()
            )
            == []
        )
    assert len(queries_run.captured_queries) == 1


def _running(world: World) -> Job:
    job = _reboot(world)
    with system_context("test: a check-in"):
        services.hand_out_for_check_in(
            actor=system_principal("test: agent"), device_id=job.device_id, now=timezone.now()
        )
    return _job(job.pk)


def test_a_result_ends_the_job_and_long_output_is_cut(world) -> None:  # type: ignore[no-untyped-def]
    job = _running(world)
    with system_context("test: a check-in"):
        services.record_result(
            actor=system_principal("test: agent"),
            device_id=job.device_id,
            job_id=str(job.pk),
            status="failed",
            exit_code=2,
            output="é" * MAX_OUTPUT_BYTES,
            report_id=None,
            now=timezone.now(),
        )
    finished = _job(job.pk)
    assert (finished.state, finished.exit_code, finished.output_truncated) == (
        State.FAILED,
        2,
        True,
    )
    assert len(finished.output.encode()) <= MAX_OUTPUT_BYTES
    assert finished.output.endswith("[output truncated at 64 KiB]")


def test_a_result_for_an_unknown_or_another_device_s_job_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    job = _running(world)
    for device_id, job_id in ((job.device_id, "999999"), (world["device_unplaced"], str(job.pk))):
        with system_context("test: a check-in"), pytest.raises(JobResultError) as error:
            services.record_result(
                actor=system_principal("test: agent"),
                device_id=device_id,
                job_id=job_id,
                status="succeeded",
                exit_code=0,
                output="",
                report_id=None,
                now=timezone.now(),
            )
        assert error.value.code == "unknown_job"
    assert _job(job.pk).state == State.RUNNING


def test_expiry_closes_unstarted_jobs_and_fails_running_ones_without_a_result(
    world, settings
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    running = _running(world)
    waiting = _reboot(world, device="device_unplaced", not_after=now + dt.timedelta(hours=1))
    assert services.expire_jobs(now=now) == 0
    assert services.expire_jobs(now=now + dt.timedelta(hours=2)) == 1
    assert _job(waiting.pk).state == State.EXPIRED
    assert _job(running.pk).state == State.RUNNING
    later = now + dt.timedelta(minutes=settings.JOBS_RESULT_MINUTES + 1)
    assert services.expire_jobs(now=later) >= 1  # the world's own jobs' windows closed too
    failed = _job(running.pk)
    assert (failed.state, failed.output) == (State.FAILED, "no result from the agent")
    assert services.expire_jobs(now=later) == 0  # idempotent


def test_cancel_and_reject(world) -> None:  # type: ignore[no-untyped-def]
    job = _reboot(world)
    cancelled = services.cancel_job(actor=_as(world, "owner"), job=job, reason="Not needed")
    assert cancelled.state == State.CANCELLED
    with pytest.raises(Conflict):
        services.cancel_job(actor=_as(world, "owner"), job=_job(job.pk), reason="again")
    _protect(world)
    waiting = _reboot(world)
    with pytest.raises(PermissionDenied):  # sees it, may neither request nor approve it
        services.cancel_job(actor=_as(world, "provider_tech"), job=waiting, reason="mine")
    rejected = services.reject_job(actor=_as(world, "owner"), job=waiting, reason="Not now")
    assert rejected.state == State.REJECTED
    assert _states(rejected)[-1] == "rejected"


def test_a_job_requested_with_approve_by_its_accountable_party_is_approved_at_once(world) -> None:  # type: ignore[no-untyped-def]
    """What the patching app does with an approval it recorded: one step, the approver
    recorded; anyone else asking to approve in the same step is refused."""
    _protect(world)
    job = _reboot(world, approve=True, origin="patching:approval-1")
    assert (job.state, job.approved_by_party_id, job.origin) == (
        State.APPROVED,
        world["internal_party"],
        "patching:approval-1",
    )
    _allow_jobs(world, "jobs.request")
    with pytest.raises(PermissionDenied):
        _reboot(world, "provider_admin", approve=True)

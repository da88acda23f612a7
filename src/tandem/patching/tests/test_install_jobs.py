"""Approved updates into jobs inside maintenance windows (``install_services``): one job per
device and window, replaced while it waits when the approved set changes, approved with the
person and party that approved the updates, a reboot after it per the reboot policy, and
the job's result as feedback on the device's updates. Times come from "now" (the suite
also runs a year shifted)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.core.errors import Refused
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.jobs import services as jobs
from tandem.jobs.models import Job
from tandem.patching import install_services, services
from tandem.patching.tests.support import northwind_patches_hq_servers, report, states
from tandem.tenancy.models import Tenant
from tandem_agent.backends.debian import REBOOT_REQUIRED_MARK as AGENT_REBOOT_MARK

SYSTEM = system_principal("test: patching jobs")


def _acme(world: World) -> Tenant:
    with system_context("test"):
        return Tenant.objects.get(pk=world["tenant"])


def _device(world: World) -> Device:
    with system_context("test"):
        return Device.objects.select_related("tenant").get(pk=world["device"])


def _patching_jobs(world: World) -> list[Job]:
    with system_context("test: patching jobs"):
        return list(
            Job.objects.filter(device_id=world["device"], origin__startswith="patching:").order_by(
                "id"
            )
        )


def open_window_now(
    tenant: Tenant, now: dt.datetime, *, reboot_mode: str = "never", **settings: str
) -> None:
    """A daily window that opened an hour ago and lasts three hours, on the tenant's policy
    (with ``settings``; approvals manual unless they say otherwise, the default)."""
    window = services.create_maintenance_window(
        actor=SYSTEM,
        tenant=tenant,
        name="Daily",
        rrule="FREQ=DAILY",
        first_start=(now - dt.timedelta(days=2, hours=1)).replace(tzinfo=None),
        time_zone="UTC",
        duration_minutes=180,
    )
    services.set_patch_policy(
        actor=SYSTEM,
        tenant=tenant,
        level="tenant",
        settings={**settings, "maintenance_window_id": window.pk, "reboot_mode": reboot_mode},
    )


@pytest.fixture
def northwind_patches_hq(world: World) -> None:
    """The MSP is the matrix's party for the HQ servers' patching; the device is protected."""
    northwind_patches_hq_servers(world)
    update_device(actor=SYSTEM, device=_device(world), protected=True)


def _approve(world: World, *packages: str) -> None:
    found = states(world)
    services.decide_updates(
        actor=resolve_principal(user_of(world, "provider_tech")),
        device=_device(world),
        entry_ids=[found[p].entry_id for p in packages],
        approve=True,
        reason="Patch night",
    )


def test_an_approval_becomes_one_job_in_the_window_and_a_changed_set_replaces_it(
    world, northwind_patches_hq
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    report(world)
    open_window_now(_acme(world), now)
    # Nothing approved yet: no job.
    assert install_services.schedule_installs(now=now).created == 0
    # Acme's own IT is not the party the matrix names: refused, nothing changes.
    with pytest.raises(Refused, match="Northwind"):
        services.decide_updates(
            actor=resolve_principal(user_of(world, "internal_tech")),
            device=_device(world),
            entry_ids=[states(world)["openssl"].entry_id],
            approve=True,
        )
    assert install_services.schedule_installs(now=now).created == 0
    assert _patching_jobs(world) == []

    _approve(world, "openssl")
    now = timezone.now()  # the scheduler runs after the approval
    assert install_services.schedule_installs(now=now).created == 1
    (job,) = _patching_jobs(world)
    assert job.kind == "install_updates" and job.parameters == {"packages": ["openssl"]}
    # A protected device's job, approved by the person and party who approved the update.
    assert job.approval_required and job.state == "approved"
    assert job.approved_by_id == user_of(world, "provider_tech").pk
    assert job.approved_by_party_id == world["party"]
    assert "Northwind" in job.reason and "openssl" in job.reason
    # From now (the window is open) to the window's end, two hours on.
    assert job.not_before == now
    assert dt.timedelta(hours=1, minutes=59) < job.not_after - now <= dt.timedelta(hours=2)
    assert job.origin.startswith(f"patching:device:{world['device']}:")

    # Idempotent: later runs in the same window make nothing new.
    later = now + dt.timedelta(minutes=5)
    assert install_services.schedule_installs(now=later).created == 0
    assert len(_patching_jobs(world)) == 1

    # curl approved before the job was handed out: the job is replaced, once.
    _approve(world, "curl")
    later = timezone.now()
    assert install_services.schedule_installs(now=later).replaced == 1
    old, new = _patching_jobs(world)
    assert old.state == "cancelled" and new.state == "approved"
    assert new.parameters == {"packages": ["curl", "openssl"]} and new.origin == old.origin
    assert install_services.schedule_installs(now=later).replaced == 0


def test_a_job_result_is_feedback_on_the_devices_updates_and_a_reboot_follows(
    as_persona, world, northwind_patches_hq
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    report(world)
    open_window_now(_acme(world), now, reboot_mode="if_required")
    _approve(world, "openssl")
    now = timezone.now()
    install_services.schedule_installs(now=now)
    (job,) = _patching_jobs(world)
    agent = system_principal("test: the agent's check-in")
    with within_tenant(world["tenant"]):
        handed = jobs.hand_out_for_check_in(actor=agent, device_id=world["device"], now=now)
        assert [j["id"] for j in handed] == [str(job.pk)]
        jobs.record_result(
            actor=agent,
            device_id=world["device"],
            job_id=str(job.pk),
            status="succeeded",
            exit_code=0,
            output="Setting up openssl ...\n" + install_services.REBOOT_REQUIRED_MARK,
            report_id=uuid.uuid4(),
            now=now,
        )
    openssl = states(world)["openssl"]
    assert openssl.last_job_outcome == "succeeded" and openssl.reboot_required
    assert f"job {job.pk} succeeded" in openssl.last_job_message
    assert states(world)["curl"].last_job_outcome == ""  # not in the job

    # The reboot the policy asks for (the agent said one is required), once.
    assert install_services.schedule_installs(now=now).reboots == 1
    assert install_services.schedule_installs(now=now).reboots == 0
    reboot = _patching_jobs(world)[-1]
    assert reboot.kind == "reboot" and reboot.origin == job.origin + ":reboot"
    assert reboot.state == "approved" and reboot.approved_by_party_id == world["party"]

    # The device page's Updates section shows the jobs, their state and output link.
    page = as_persona("owner").get(f"/devices/{world['device']}/").content.decode()
    section = page.split("Install and reboot jobs", 1)[1]
    assert f"/jobs/{job.pk}/" in section and "succeeded" in section
    assert f"/jobs/{job.pk}/#job-output" in section and f"/jobs/{reboot.pk}/" in section

    # The next inventory no longer offers openssl's update: installed, at the check-in.
    report(world, installed={"openssl": "3.0.11-1~deb12u2", "curl": "7.88.1-10"}, updates={})
    openssl = states(world)["openssl"]
    assert openssl.status == "installed" and openssl.installed_at is not None


def test_a_policy_approval_on_a_protected_device_waits_for_the_accountable_party(
    world, northwind_patches_hq
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    report(world)
    acme = _acme(world)
    open_window_now(acme, now)
    services.set_patch_policy(
        actor=SYSTEM,
        tenant=acme,
        level="device",
        device=_device(world),
        settings={"security_unknown": "auto"},
    )
    install_services.schedule_installs(now=now)
    (job,) = _patching_jobs(world)
    assert job.parameters == {"packages": ["openssl"]}
    # Nobody approved it in person: the jobs app's rule holds, its accountable party decides.
    assert job.state == "awaiting_approval" and job.approved_by_id is None
    assert job.approver_party_id == world["internal_party"]


def test_the_server_reads_the_reboot_mark_the_agent_writes() -> None:
    assert install_services.REBOOT_REQUIRED_MARK == AGENT_REBOOT_MARK


def test_a_withdrawn_approval_cancels_the_waiting_job_and_only_the_system_names_one(
    world, northwind_patches_hq
) -> None:  # type: ignore[no-untyped-def]
    report(world)
    open_window_now(_acme(world), timezone.now())
    _approve(world, "openssl")
    install_services.schedule_installs(now=timezone.now())
    (job,) = _patching_jobs(world)
    # Northwind rejects it after all, before the agent took the job: the job is withdrawn.
    services.decide_updates(
        actor=resolve_principal(user_of(world, "provider_tech")),
        device=_device(world),
        entry_ids=[states(world)["openssl"].entry_id],
        approve=False,
        reason="Breaks the billing app",
    )
    assert install_services.schedule_installs(now=timezone.now()).withdrawn == 1
    (job,) = _patching_jobs(world)
    assert job.state == "cancelled"
    # A person cannot pass an approval given elsewhere as the job's.
    with pytest.raises(Refused):
        jobs.request_job(
            actor=resolve_principal(user_of(world, "internal_tech")),
            device=_device(world),
            kind="reboot",
            parameters={},
            reason="Try",
            approve=True,
            recorded_approval=jobs.RecordedApproval(
                user_id=None, label="someone", party_id=world["party"], at=timezone.now()
            ),
        )
    assert len(_patching_jobs(world)) == 1

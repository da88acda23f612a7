"""Every service that writes leaves an audit entry: each one is called here, once.

The services are found, not listed: every public function of a ``services`` module whose
parameters are all keyword-only (the house's shape for a service). Each needs a minimal call
in ``CALLS`` (which must add an audit entry) or a reason in ``NOT_AUDITED``; a new service
with neither fails ``test_every_service_has_an_audit_check``.

The desk's and the notifications app's calls are in ``tests/desk/audit_calls.py``
(``DESK_CALLS``, ``DESK_NOT_AUDITED``), beside the desk's world they name.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import secrets
from collections.abc import Callable
from types import ModuleType

import pyotp
import pytest
from django.utils import timezone

import tandem
from tandem.accounts import services as accounts
from tandem.accounts.models import Role, User
from tandem.accounts.principals import resolve_principal
from tandem.accounts.tests.factories import SignInLinkFactory
from tandem.agents import services as agents
from tandem.agents import wire as agent_wire
from tandem.agents.models import EnrolmentToken
from tandem.alerts import services as alerts
from tandem.alerts.detections import Detection
from tandem.alerts.models import Alert, Suppression
from tandem.assets import offline_services as offline
from tandem.assets import services as assets
from tandem.assets.models import Device, OfflineAlertPolicy
from tandem.audit import services as audit
from tandem.audit.models import AuditEntry
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context
from tandem.detection import services as detection
from tandem.detection.engine import load_rules_text
from tandem.detection.models import CustomRule, PlaceholderList
from tandem.detection.tests.world import DISABLED_RULE, ENABLED_RULE, custom_yaml
from tandem.jobs import services as jobs
from tandem.jobs.models import Job
from tandem.logs import services as logs
from tandem.logs.models import IngestSource
from tandem.patching import services as patching
from tandem.patching.tests import support as patching_support
from tandem.responsibility import services as matrix
from tandem.responsibility.models import Coverage, ResponsibilityRow
from tandem.servicedesk.tickets import device_services as ticket_devices
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy import services as tenancy
from tandem.tenancy.models import (
    AssetGroup,
    Engagement,
    Party,
    Provider,
    ServiceArea,
    Site,
    Tenant,
)
from tandem.vulnerabilities import services as vulnerabilities
from tandem.vulnerabilities import sources as vulnerability_sources
from tandem.vulnerabilities.tests.factories import FindingFactory
from tests.desk.audit_calls import DESK_CALLS, DESK_NOT_AUDITED
from tests.personas import World, membership_of, user_of

#: Modules that hold services but are named for the pipeline they run, not ``services``:
#: an operator's retry or acceptance there is an audited act like any other.
OTHER_SERVICE_MODULES = [
    "tandem.servicedesk.mail.inbound",
    "tandem.servicedesk.mail.outbound",
]


def service_module_names() -> list[str]:
    """Every ``services`` or ``*_services`` module of the tree (found, not listed, so a new
    app's services join the check by being written), then ``OTHER_SERVICE_MODULES``."""
    found = [
        info.name
        for info in pkgutil.walk_packages(tandem.__path__, "tandem.")
        if not {"tests", "migrations"} & set(info.name.split("."))
        and (info.name.endswith(".services") or info.name.endswith("_services"))
    ]
    return sorted(found) + OTHER_SERVICE_MODULES


#: Keyword-only public functions that are not audited writes, with the reason.
NOT_AUDITED = {
    "tandem.accounts.services.check_sign_in_link": "a read: nothing is marked",
    "tandem.accounts.services.check_totp": (
        "records the last code step used (the replay guard) on every sign-in; the sign-in "
        "is the event, and confirming the device is audited"
    ),
    "tandem.accounts.services.send_invitation": (
        "sends the e-mail of a membership already audited (a task, after commit)"
    ),
    "tandem.accounts.services.sync_roles_after_migrate": (
        "the built-in roles follow the code after every migrate; no one acts"
    ),
    "tandem.audit.services.verify_chains": "a read: walks the chains",
    **DESK_NOT_AUDITED,
}

Call = Callable[[Principal, World], Callable[[], object]]
"""Prepares what a service needs (any audited writes happen here), and returns the one
call whose audit entry is checked."""


def _tenant(world: World) -> Tenant:
    return Tenant.objects.get(pk=world["tenant"])


def _engagement(world: World, name: str = "engagement") -> Engagement:
    return Engagement.objects.get(pk=world[name])


def _new_user(actor: Principal, name: str) -> User:
    return accounts.create_user(actor=actor, email=f"{name}@audit.test", full_name=name)


def _owner(world: World) -> Principal:
    """The owner acting: a second factor and API tokens are one's own."""
    return resolve_principal(user_of(world, "owner"))


def _confirm_totp(actor: Principal, world: World) -> Callable[[], object]:
    user = user_of(world, "owner")
    actor = _owner(world)
    device = accounts.start_totp_setup(actor=actor, user=user)
    code = pyotp.TOTP(device.secret).now()
    return lambda: accounts.confirm_totp(actor=actor, user=user, code=code)


def _revoke_api_token(actor: Principal, world: World) -> Callable[[], object]:
    actor = _owner(world)
    token, _raw = accounts.create_api_token(
        actor=actor,
        user=user_of(world, "owner"),
        membership=membership_of(world, "owner"),
        name="to revoke",
    )
    return lambda: accounts.revoke_api_token(actor=actor, token=token)


def _use_sign_in_link(actor: Principal, world: World) -> Callable[[], object]:
    raw = secrets.token_urlsafe(32)
    SignInLinkFactory(user=user_of(world, "owner"), raw=raw)
    return lambda: accounts.use_sign_in_link(token=raw)


def _make_first_owner(actor: Principal, world: World) -> Callable[[], object]:
    tenant = tenancy.create_tenant(actor=actor, name="Ownerless", slug="ownerless")
    return lambda: accounts.make_first_owner(actor=actor, tenant=tenant, email="o@audit.test")


def _add_membership(actor: Principal, world: World) -> Callable[[], object]:
    user = _new_user(actor, "joiner")
    role = Role.objects.get(key="auditor")
    return lambda: accounts.add_membership(actor=actor, user=user, role=role, tenant=_tenant(world))


CALLS: dict[str, Call] = {
    # tenancy
    "tandem.tenancy.services.accept_engagement": lambda a, w: (
        lambda: tenancy.accept_engagement(actor=a, engagement=_engagement(w, "pending_engagement"))
    ),
    "tandem.tenancy.services.create_asset_group": lambda a, w: (
        lambda: tenancy.create_asset_group(actor=a, tenant=_tenant(w), name="Audit group")
    ),
    "tandem.tenancy.services.create_provider": lambda a, w: (
        lambda: tenancy.create_provider(actor=a, name="Audit MSP", slug="audit-msp")
    ),
    "tandem.tenancy.services.create_service_area": lambda a, w: (
        lambda: tenancy.create_service_area(
            actor=a, tenant=_tenant(w), key="audit-area", name="Audit area"
        )
    ),
    "tandem.tenancy.services.create_site": lambda a, w: (
        lambda: tenancy.create_site(actor=a, tenant=_tenant(w), name="Audit site")
    ),
    "tandem.tenancy.services.create_tenant": lambda a, w: (
        lambda: tenancy.create_tenant(actor=a, name="Audit Co", slug="audit-co")
    ),
    "tandem.tenancy.services.create_tenant_with_owner": lambda a, w: (
        lambda: tenancy.create_tenant_with_owner(
            actor=a, name="Audit Owned", slug="audit-owned", owner_email="boss@audit.test"
        )
    ),
    "tandem.tenancy.services.end_engagement": lambda a, w: (
        lambda: tenancy.end_engagement(actor=a, engagement=_engagement(w), reason="Contract over")
    ),
    "tandem.tenancy.services.grant_engagement": lambda a, w: (
        lambda: tenancy.grant_engagement(
            actor=a,
            tenant=_tenant(w),
            provider=Provider.objects.get(pk=w["unengaged_provider"]),
            name="Audit deal",
            service_area_ids=[w["service_area"]],
        )
    ),
    "tandem.tenancy.services.rescope_engagement": lambda a, w: (
        lambda: tenancy.rescope_engagement(actor=a, engagement=_engagement(w), site_ids=[])
    ),
    "tandem.tenancy.services.resume_engagement": lambda a, w: (
        lambda: tenancy.resume_engagement(
            actor=a, engagement=_engagement(w, "suspended_engagement"), reason="Review done"
        )
    ),
    "tandem.tenancy.services.suspend_engagement": lambda a, w: (
        lambda: tenancy.suspend_engagement(
            actor=a, engagement=_engagement(w), reason="Under review"
        )
    ),
    "tandem.tenancy.services.update_asset_group": lambda a, w: (
        lambda: tenancy.update_asset_group(
            actor=a, group=AssetGroup.objects.get(pk=w["asset_group"]), name="Renamed group"
        )
    ),
    "tandem.tenancy.services.update_provider": lambda a, w: (
        lambda: tenancy.update_provider(
            actor=a, provider=Provider.objects.get(pk=w["provider"]), name="Renamed MSP"
        )
    ),
    "tandem.tenancy.services.update_service_area": lambda a, w: (
        lambda: tenancy.update_service_area(
            actor=a, area=ServiceArea.objects.get(pk=w["service_area"]), name="Renamed area"
        )
    ),
    "tandem.tenancy.services.update_site": lambda a, w: (
        lambda: tenancy.update_site(
            actor=a, site=Site.objects.get(pk=w["site"]), name="Renamed site"
        )
    ),
    "tandem.tenancy.services.update_tenant": lambda a, w: (
        lambda: tenancy.update_tenant(actor=a, tenant=_tenant(w), name="Renamed Co")
    ),
    # accounts
    "tandem.accounts.services.add_membership": _add_membership,
    "tandem.accounts.services.change_membership_role": lambda a, w: (
        lambda: accounts.change_membership_role(
            actor=a,
            membership=membership_of(w, "internal_tech"),
            role=Role.objects.get(key="auditor"),
        )
    ),
    "tandem.accounts.services.complete_password_reset": lambda a, w: (
        lambda: accounts.complete_password_reset(
            user=user_of(w, "owner"), password="a new and long passphrase 42"
        )
    ),
    "tandem.accounts.services.confirm_totp": _confirm_totp,
    "tandem.accounts.services.create_api_token": lambda a, w: (
        lambda: accounts.create_api_token(
            actor=_owner(w),
            user=user_of(w, "owner"),
            membership=membership_of(w, "owner"),
            name="ci",
        )
    ),
    "tandem.accounts.services.create_tenant_with_owner": lambda a, w: (
        lambda: accounts.create_tenant_with_owner(actor=a, name="Via Accounts", slug="via-acc")
    ),
    "tandem.accounts.services.create_user": lambda a, w: lambda: _new_user(a, "newcomer"),
    "tandem.accounts.services.deactivate_membership": lambda a, w: (
        lambda: accounts.deactivate_membership(
            actor=a, membership=membership_of(w, "internal_tech")
        )
    ),
    "tandem.accounts.services.invite_member": lambda a, w: (
        lambda: accounts.invite_member(
            actor=a,
            email="invited@audit.test",
            full_name="Invited",
            role=Role.objects.get(key="auditor"),
            tenant=_tenant(w),
        )
    ),
    "tandem.accounts.services.make_first_owner": _make_first_owner,
    "tandem.accounts.services.revoke_api_token": _revoke_api_token,
    "tandem.accounts.services.send_sign_in_link": lambda a, w: (
        lambda: accounts.send_sign_in_link(actor=a, email=user_of(w, "owner").email)
    ),
    "tandem.accounts.services.start_totp_setup": lambda a, w: (
        lambda: accounts.start_totp_setup(actor=_owner(w), user=user_of(w, "owner"))
    ),
    "tandem.accounts.services.use_sign_in_link": _use_sign_in_link,
    # audit: the writer itself
    "tandem.audit.services.record_audit": lambda a, w: (
        lambda: audit.record_audit(
            actor=a, action="tenancy.change_tenant", target=_tenant(w), tenant_id=w["tenant"]
        )
    ),
    **DESK_CALLS,
}


# --- The responsibility app (issue 10, point 2) -----------------------------------------------
# Its own block, apart from the desk's: the matrix rows and coverage, each call audited.
CALLS.update(
    {
        "tandem.responsibility.services.add_matrix_row": lambda a, w: (
            lambda: matrix.add_matrix_row(
                actor=a,
                tenant=_tenant(w),
                service_area_id=w["service_area_out_of_scope"],
                responsible_id=w["internal_party"],
                accountable_id=w["internal_party"],
            )
        ),
        "tandem.responsibility.services.remove_matrix_row": lambda a, w: (
            lambda: matrix.remove_matrix_row(
                actor=a, row=ResponsibilityRow.objects.get(pk=w["matrix_row"])
            )
        ),
        "tandem.responsibility.services.add_coverage": lambda a, w: (
            lambda: matrix.add_coverage(
                actor=a,
                tenant=_tenant(w),
                party=Party.objects.get(pk=w["internal_party"]),
                calendar_id=w["nights_calendar"],
                max_priority=2,
            )
        ),
        "tandem.responsibility.services.update_coverage": lambda a, w: (
            lambda: matrix.update_coverage(
                actor=a, coverage=Coverage.objects.get(pk=w["coverage"]), max_priority=1
            )
        ),
        "tandem.responsibility.services.remove_coverage": lambda a, w: (
            lambda: matrix.remove_coverage(actor=a, coverage=Coverage.objects.get(pk=w["coverage"]))
        ),
    }
)
# --- end of the responsibility app's block ----------------------------------------------------


# --- The assets app, and the desk's links of tickets to devices (issue 11) -------------------
def _device(world: World, name: str = "device") -> Device:
    return Device.objects.get(pk=world[name])


CALLS.update(
    {
        "tandem.assets.services.register_device": lambda a, w: (
            lambda: assets.register_device(
                actor=a, tenant=_tenant(w), hostname="audit-check-01", hardware_id="hw-audit-01"
            )
        ),
        "tandem.assets.services.update_device": lambda a, w: (
            lambda: assets.update_device(actor=a, device=_device(w), protected=True)
        ),
        "tandem.assets.services.retire_device": lambda a, w: (
            lambda: assets.retire_device(actor=a, device=_device(w))
        ),
        "tandem.servicedesk.tickets.device_services.set_ticket_devices": lambda a, w: (
            lambda: ticket_devices.set_ticket_devices(
                actor=a, ticket=Ticket.objects.get(pk=w["ticket"]), device_ids=[w["device"]]
            )
        ),
    }
)


def _device_gone(actor: Principal, world: World) -> Callable[[], object]:
    """Acme's policy on, its HQ device silent for a day: the check opens its episode."""
    offline.set_offline_policy(actor=actor, tenant=_tenant(world), enabled=True, minutes=30)
    offline.remove_offline_policy(
        actor=actor, policy=OfflineAlertPolicy.objects.get(pk=world["offline_policy"])
    )
    Device.objects.filter(pk=world["device"]).update(
        last_seen_at=timezone.now() - dt.timedelta(days=1)
    )
    return lambda: offline.check_offline_devices()


CALLS.update(
    {
        "tandem.assets.offline_services.set_offline_policy": lambda a, w: (
            lambda: offline.set_offline_policy(actor=a, tenant=_tenant(w), enabled=True, minutes=30)
        ),
        "tandem.assets.offline_services.remove_offline_policy": lambda a, w: (
            lambda: offline.remove_offline_policy(
                actor=a, policy=OfflineAlertPolicy.objects.get(pk=w["offline_policy"])
            )
        ),
        "tandem.assets.offline_services.check_offline_devices": _device_gone,
    }
)
# --- end of the assets app's block ------------------------------------------------------------


# --- The agents app (issue 11): enrolment, credentials; the check-in is not audited -------------
NOT_AUDITED["tandem.agents.checkin_services.check_in"] = (
    "the check-in hot path: what it changes is recorded as inventory history and last_seen "
    "(decision 0027); a credential rotation it carries out is audited"
)
NOT_AUDITED["tandem.agents.unchanged_services.check_in_unchanged"] = (
    "the unchanged check-in in raw SQL: report ids, sequence and last_seen only (decision "
    "0039); anything audited (a rotation, a job) takes the full check-in"
)
NOT_AUDITED["tandem.agents.checkin_services.purge_agent_reports"] = (
    "deletes the ids of reports long applied (bookkeeping that refuses replays, decision 0028)"
)
NOT_AUDITED["tandem.agents.checkin_services.purge_unheld_titles"] = (
    "derived rows: deletes software titles no device holds; the next check-in reporting the "
    "package makes its title again (decision 0049)"
)


def _enrol_request(world: World) -> agent_wire.EnrolRequest:
    return agent_wire.EnrolRequest(
        token=world.secrets["enrolment_token"],
        device=agent_wire.DeviceFacts(hostname="audit-agent-01", hardware_id="hw-audit-agent-01"),
    )


CALLS.update(
    {
        "tandem.agents.services.create_enrolment_token": lambda a, w: (
            lambda: agents.create_enrolment_token(actor=a, tenant=_tenant(w), name="Audit check")
        ),
        "tandem.agents.services.revoke_enrolment_token": lambda a, w: (
            lambda: agents.revoke_enrolment_token(
                actor=a, token=EnrolmentToken.objects.get(pk=w["enrolment_token"])
            )
        ),
        "tandem.agents.services.enrol_device": lambda a, w: (
            lambda: agents.enrol_device(
                actor=a, raw_token=w.secrets["enrolment_token"], request=_enrol_request(w)
            )
        ),
        "tandem.agents.services.request_credential_rotation": lambda a, w: (
            lambda: agents.request_credential_rotation(actor=a, device=_device(w))
        ),
        "tandem.agents.services.revoke_device_credentials": lambda a, w: (
            lambda: agents.revoke_device_credentials(
                actor=a, device=_device(w), reason="audit check"
            )
        ),
    }
)
# --- end of the agents app's block ------------------------------------------------------------


# --- The jobs app (issue 11): every state change of a job is audited ------------------------------
NOT_AUDITED["tandem.jobs.services.expire_jobs"] = (
    "periodic: each job it expires or fails is audited (jobs.expire_job, jobs.fail_job); "
    "a run with nothing due writes nothing (tandem.jobs.tests.test_services)"
)


def _job(world: World, name: str = "job") -> Job:
    return Job.objects.get(pk=world[name])


def _running_job(actor: Principal, world: World) -> Job:
    """The world's approved Branch job, handed to its agent."""
    job = _job(world, "job_out_of_scope")
    jobs.hand_out_for_check_in(actor=actor, device_id=job.device_id, now=job.not_before)
    return _job(world, "job_out_of_scope")


def _record_result(actor: Principal, world: World) -> Callable[[], object]:
    job = _running_job(actor, world)
    return lambda: jobs.record_result(
        actor=actor,
        device_id=job.device_id,
        job_id=str(job.pk),
        status="succeeded",
        exit_code=0,
        output="done",
        report_id=None,
        now=job.not_before,
    )


CALLS.update(
    {
        "tandem.jobs.services.request_job": lambda a, w: (
            lambda: jobs.request_job(
                actor=a, device=_device(w), kind="reboot", parameters={}, reason="audit check"
            )
        ),
        "tandem.jobs.services.approve_job": lambda a, w: (
            lambda: jobs.approve_job(actor=a, job=_job(w))
        ),
        "tandem.jobs.services.reject_job": lambda a, w: (
            lambda: jobs.reject_job(actor=a, job=_job(w), reason="audit check")
        ),
        "tandem.jobs.services.cancel_job": lambda a, w: (
            lambda: jobs.cancel_job(actor=a, job=_job(w), reason="audit check")
        ),
        "tandem.jobs.services.hand_out_for_check_in": lambda a, w: (
            lambda: jobs.hand_out_for_check_in(
                actor=a,
                device_id=w["device_out_of_scope"],
                now=_job(w, "job_out_of_scope").not_before,
            )
        ),
        "tandem.jobs.services.record_result": _record_result,
    }
)
# --- end of the jobs app's block --------------------------------------------------------------


# --- The patching app (issue 11): the states' sync is derived from the check-in ---------------
NOT_AUDITED["tandem.patching.services.sync_device_updates"] = (
    "derived from what a device reported, after its check-in (decision 0031): the states "
    "carry their own times (missing since, installed at), as the inventory history does"
)
_SNAPSHOT = (
    "derived data (decision 0048): each tenant's compliance computed from the update states "
    "and stored for the readers; the figures carry their own time (computed at)"
)
for _name in (
    "refresh_compliance_snapshot",
    "refresh_due_compliance_snapshots",
    "mark_compliance_changed",
):
    NOT_AUDITED[f"tandem.patching.snapshot_services.{_name}"] = _SNAPSHOT
NOT_AUDITED["tandem.assets.offline_services.end_episode_on_retirement"] = (
    "a step of assets.services.retire_device, inside its transaction and audit entry (the "
    "episode closed is named there); the periodic clean-up of older ones audits each itself"
)
_THROUGH = (
    "writes nothing itself: its jobs are made and cancelled by jobs.services (request_job, "
    "cancel_job) and its feedback by patching.services.record_install_feedback, each audited "
    "in its own transaction (patching/tests/test_install_jobs.py follows them)"
)
for _name in ("schedule_installs", "schedule_reboots", "record_job_feedback"):
    NOT_AUDITED[f"tandem.patching.install_services.{_name}"] = _THROUGH
_TRACKER = {
    "openssl": {
        "CVE-2031-0001": {
            "releases": {
                "bookworm": {
                    "status": "resolved",
                    "fixed_version": "3.0.11-1~deb12u2",
                    "urgency": "high",
                }
            }
        }
    }
}
_CSV = (
    "os_family,package,version,severity,cve_ids,released_on\n"
    "linux,openssl,3.0.11-1~deb12u2,high,CVE-2031-0001,\n"
)


def _delete_window(actor: Principal, world: World) -> Callable[[], object]:
    window = patching.create_maintenance_window(
        actor=actor,
        tenant=_tenant(world),
        name="Window to delete",
        rrule="FREQ=WEEKLY;BYDAY=SU",
        first_start=dt.datetime(2031, 1, 5, 22),
        time_zone="Europe/Berlin",
        duration_minutes=60,
    )
    return lambda: patching.delete_maintenance_window(actor=actor, window=window)


def _delete_ring(actor: Principal, world: World) -> Callable[[], object]:
    ring = patching.create_patch_ring(actor=actor, tenant=_tenant(world), name="Ring to delete")
    return lambda: patching.delete_patch_ring(actor=actor, ring=ring)


def _decide_updates(actor: Principal, world: World) -> Callable[[], object]:
    entry = patching_support.missing_entry(world)  # the HQ device reports its updates
    return lambda: patching.decide_updates(
        actor=actor, device=_device(world), entry_ids=[entry], approve=True
    )


def _record_install_feedback(actor: Principal, world: World) -> Callable[[], object]:
    entry = patching_support.missing_entry(world)
    return lambda: patching.record_install_feedback(
        actor=actor, device=_device(world), entry_ids=[entry], outcome="succeeded"
    )


def _import_debian(actor: Principal, world: World) -> Callable[[], object]:
    patching_support.missing_entry(world)
    return lambda: patching.import_debian_advisories(actor=actor, data=_TRACKER, release="bookworm")


def _import_csv(actor: Principal, world: World) -> Callable[[], object]:
    patching_support.missing_entry(world)
    return lambda: patching.import_advisory_csv(actor=actor, text=_CSV)


CALLS.update(
    {
        "tandem.patching.services.set_patch_policy": lambda a, w: (
            lambda: patching.set_patch_policy(
                actor=a, tenant=_tenant(w), level="tenant", settings={"bugfix": "auto"}
            )
        ),
        "tandem.patching.services.create_patch_ring": lambda a, w: (
            lambda: patching.create_patch_ring(actor=a, tenant=_tenant(w), name="Audit ring")
        ),
        "tandem.patching.services.create_maintenance_window": lambda a, w: (
            lambda: patching.create_maintenance_window(
                actor=a,
                tenant=_tenant(w),
                name="Audit window",
                rrule="FREQ=WEEKLY;BYDAY=SA",
                first_start=dt.datetime(2031, 1, 4, 22),
                time_zone="Europe/Berlin",
                duration_minutes=60,
            )
        ),
        "tandem.patching.services.set_patching_area": lambda a, w: (
            lambda: patching.set_patching_area(
                actor=a,
                tenant=_tenant(w),
                service_area=ServiceArea.objects.get(pk=w["service_area"]),
            )
        ),
        "tandem.patching.services.set_compliance_settings": lambda a, w: (
            lambda: patching.set_compliance_settings(
                actor=a, tenant=_tenant(w), preset="custom", days=21
            )
        ),
        "tandem.patching.services.delete_maintenance_window": _delete_window,
        "tandem.patching.services.delete_patch_ring": _delete_ring,
        "tandem.patching.services.decide_updates": _decide_updates,
        "tandem.patching.services.record_install_feedback": _record_install_feedback,
        "tandem.patching.services.import_debian_advisories": _import_debian,
        "tandem.patching.services.import_advisory_csv": _import_csv,
    }
)
# --- end of the patching app's block ----------------------------------------------------------


# --- The alerts app (issue 12): raising, triage, suppressions, settings, the desk's link -------
def _alert(world: World) -> Alert:
    return Alert.objects.get(pk=world["alert"])


def _new_detection() -> Detection:
    return Detection(
        rule_id="audit-rule", rule_title="Audit rule", level="low", host="h", time=timezone.now()
    )


def _link_ticket(actor: Principal, world: World) -> Callable[[], object]:
    alert = alerts.lock_alert_for_ticket(tenant_id=world["tenant"], alert_id=world["alert"])
    assert alert is not None
    return lambda: alerts.link_alert_ticket(actor=actor, alert=alert, ticket_id=world["ticket"])


NOT_AUDITED["tandem.alerts.services.lock_alert_for_ticket"] = (
    "a read under a row lock: the link that follows in its transaction is audited"
)
CALLS.update(
    {
        "tandem.alerts.services.record_detections": lambda a, w: (
            lambda: alerts.record_detections(tenant_id=w["tenant"], detections=[_new_detection()])
        ),
        "tandem.alerts.services.acknowledge_alert": lambda a, w: (
            lambda: alerts.acknowledge_alert(actor=a, alert=_alert(w))
        ),
        "tandem.alerts.services.mark_false_positive": lambda a, w: (
            lambda: alerts.mark_false_positive(actor=a, alert=_alert(w), reason="Admin tool")
        ),
        "tandem.alerts.services.resolve_alert": lambda a, w: (
            lambda: alerts.resolve_alert(actor=a, alert=_alert(w))
        ),
        "tandem.alerts.services.create_suppression": lambda a, w: (
            lambda: alerts.create_suppression(
                actor=a,
                tenant=_tenant(w),
                rule_id="audit-rule",
                reason="Audit check",
                expires_at=timezone.now() + dt.timedelta(days=1),
            )
        ),
        "tandem.alerts.services.lift_suppression": lambda a, w: (
            lambda: alerts.lift_suppression(
                actor=a, suppression=Suppression.objects.get(pk=w["suppression"])
            )
        ),
        "tandem.alerts.services.set_alert_settings": lambda a, w: (
            lambda: alerts.set_alert_settings(actor=a, tenant=_tenant(w), dedup_window_minutes=30)
        ),
        "tandem.alerts.services.link_alert_ticket": _link_ticket,
        "tandem.accounts.services.ensure_system_account": lambda a, w: (
            lambda: accounts.ensure_system_account(actor=a, key="audit-check", full_name="Audit")
        ),
    }
)
# --- end of the alerts app's block ------------------------------------------------------------


# --- The vulnerabilities app (issue 12): matching is derived from the inventory ---------------
NOT_AUDITED["tandem.vulnerabilities.services.match_device"] = (
    "derived from what a device reported and the advisories (decision 0038): findings carry "
    "their own times (first seen, last seen, fixed at), like patching's state sync"
)
NOT_AUDITED["tandem.vulnerabilities.services.match_devices"] = (
    "runs match_device per device (derived data, see there)"
)


def _vulnerable_finding(world: World) -> int:
    return int(FindingFactory(device=_device(world)).pk)


def _accept_risk(actor: Principal, world: World) -> Callable[[], object]:
    finding = _vulnerable_finding(world)
    owner = resolve_principal(user_of(world, "owner"))
    return lambda: vulnerabilities.accept_risk(
        actor=owner,
        finding_id=finding,
        reason="Behind the management VPN only",
        expires_at=timezone.now() + dt.timedelta(days=30),
    )


def _reopen_finding(actor: Principal, world: World) -> Callable[[], object]:
    finding = FindingFactory(
        device=_device(world),
        status="risk_accepted",
        risk_reason="accepted",
        risk_expires_at=timezone.now() + dt.timedelta(days=30),
    ).pk
    owner = resolve_principal(user_of(world, "owner"))
    return lambda: vulnerabilities.reopen_finding(actor=owner, finding_id=finding)


def _expire_risks(actor: Principal, world: World) -> Callable[[], object]:
    FindingFactory(
        device=_device(world),
        status="risk_accepted",
        risk_reason="accepted",
        risk_expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    return lambda: vulnerabilities.expire_risk_acceptances(actor=actor)


def _import_vulnerability_advisories(actor: Principal, world: World) -> Callable[[], object]:
    records = vulnerability_sources.tracker_records(_TRACKER, "bookworm")
    return lambda: vulnerabilities.import_advisories(
        actor=actor,
        records=records,
        source="debian-tracker",
        imported_from="tracker.json",
        ecosystem="Debian:12",
    )


CALLS.update(
    {
        "tandem.vulnerabilities.services.accept_risk": _accept_risk,
        "tandem.vulnerabilities.services.reopen_finding": _reopen_finding,
        "tandem.vulnerabilities.services.expire_risk_acceptances": _expire_risks,
        "tandem.vulnerabilities.services.import_advisories": _import_vulnerability_advisories,
    }
)
# --- end of the vulnerabilities app's block ---------------------------------------------------


def _services_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in service_module_names()]


def services() -> list[str]:
    """Every public function of the services modules whose parameters are all keyword-only."""
    found = []
    for module in _services_modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            parameters = list(inspect.signature(function).parameters.values())
            if parameters and all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in parameters):
                found.append(f"{module.__name__}.{name}")
    return sorted(found)


# --- The logs app (issue 12): ingest sources are audited; the hot path's counts are not ------
_COUNTS = (
    "the ingest hot path's bookkeeping (quota windows, counters of accepted and refused "
    "events): counts, like check-ins, shown on the sources page (tandem.logs.tests)"
)
for _name in ("reserve_quota", "release_quota", "count_ingest"):
    NOT_AUDITED[f"tandem.logs.services.{_name}"] = _COUNTS
for _name in ("claim_batch", "settle_batch", "forget_batch"):
    NOT_AUDITED[f"tandem.logs.batch_services.{_name}"] = (
        "the ingest hot path's memory of a sender's batch ids and their answers (decision "
        "0050): bookkeeping of a request, like the quota windows (tandem.logs.tests)"
    )


def _ingest_source(world: World) -> IngestSource:
    return IngestSource.objects.get(pk=world["ingest_source"])


CALLS.update(
    {
        "tandem.logs.services.create_ingest_source": lambda a, w: (
            lambda: logs.create_ingest_source(
                actor=a, tenant=_tenant(w), name="Audit check", kind="http"
            )
        ),
        "tandem.logs.services.rotate_ingest_token": lambda a, w: (
            lambda: logs.rotate_ingest_token(actor=a, source=_ingest_source(w))
        ),
        "tandem.logs.services.set_ingest_source_enabled": lambda a, w: (
            lambda: logs.set_ingest_source_enabled(actor=a, source=_ingest_source(w), enabled=False)
        ),
        "tandem.logs.services.set_archive_settings": lambda a, w: (
            lambda: logs.set_archive_settings(actor=a, tenant=_tenant(w), retention_days=30)
        ),
        "tandem.logs.services.set_ingest_source_device": lambda a, w: (
            lambda: logs.set_ingest_source_device(
                actor=a,
                source=IngestSource.objects.get(pk=w["syslog_source"]),
                device_id=w["device"],
            )
        ),
    }
)
# --- end of the logs app's block --------------------------------------------------------------


# --- The detection app (decision 0044): packs, rules turned off, custom rules -----------------
_AUDIT_RULE = "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0ad0"


def _custom_rule(world: World) -> CustomRule:
    return CustomRule.objects.get(pk=world["custom_rule"])


def _placeholder_list(world: World) -> PlaceholderList:
    return PlaceholderList.objects.get(pk=world["placeholder_list"])


CALLS.update(
    {
        "tandem.detection.services.sync_installed_packs": lambda a, w: (
            lambda: detection.sync_installed_packs(
                actor=a,
                rulesets=[load_rules_text({"audit.yml": custom_yaml(_AUDIT_RULE, "Audit")})],
            )
        ),
        "tandem.detection.services.set_pack_enabled": lambda a, w: (
            lambda: detection.set_pack_enabled(
                actor=a, tenant=_tenant(w), pack_name="starter", enabled=False, reason="Audit"
            )
        ),
        "tandem.detection.services.disable_rule": lambda a, w: (
            lambda: detection.disable_rule(
                actor=a, tenant=_tenant(w), rule_id=ENABLED_RULE, reason="Audit"
            )
        ),
        "tandem.detection.services.enable_rule": lambda a, w: (
            lambda: detection.enable_rule(actor=a, tenant=_tenant(w), rule_id=DISABLED_RULE)
        ),
        "tandem.detection.services.upload_custom_rules": lambda a, w: (
            lambda: detection.upload_custom_rules(
                actor=a,
                tenant=_tenant(w),
                files={"audit.yml": custom_yaml(_AUDIT_RULE, "Audit").encode()},
            )
        ),
        "tandem.detection.services.edit_custom_rule": lambda a, w: (
            lambda: detection.edit_custom_rule(
                actor=a,
                rule=_custom_rule(w),
                source=custom_yaml(
                    "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0001", "Acme world custom rule", "edited"
                ),
            )
        ),
        "tandem.detection.services.set_custom_rule_enabled": lambda a, w: (
            lambda: detection.set_custom_rule_enabled(
                actor=a, rule=_custom_rule(w), enabled=False, reason="Audit"
            )
        ),
        "tandem.detection.services.delete_custom_rule": lambda a, w: (
            lambda: detection.delete_custom_rule(actor=a, rule=_custom_rule(w))
        ),
        "tandem.detection.services.create_placeholder_list": lambda a, w: (
            lambda: detection.create_placeholder_list(
                actor=a, tenant=_tenant(w), name="audit_dcs", values=["dc-01.audit.test"]
            )
        ),
        "tandem.detection.services.edit_placeholder_list": lambda a, w: (
            lambda: detection.edit_placeholder_list(
                actor=a, placeholder_list=_placeholder_list(w), values=["dc-02.audit.test"]
            )
        ),
        "tandem.detection.services.delete_placeholder_list": lambda a, w: (
            lambda: detection.delete_placeholder_list(
                actor=a, placeholder_list=_placeholder_list(w)
            )
        ),
    }
)
# --- end of the detection app's block ----------------------------------------------------------


def test_every_service_has_an_audit_check() -> None:
    """A new service needs a call in ``CALLS`` (or a reason in ``NOT_AUDITED``)."""
    found = set(services())
    assert found - CALLS.keys() - NOT_AUDITED.keys() == set()
    # And nothing listed here is gone (a renamed service must be renamed here too).
    assert (CALLS.keys() | NOT_AUDITED.keys()) - found == set()
    assert not CALLS.keys() & NOT_AUDITED.keys()


@pytest.mark.parametrize("service", sorted(CALLS))
def test_every_service_write_is_audited(service: str, world: World) -> None:
    actor = system_principal("test: every service audits")
    with system_context("test: every service audits"):
        call = CALLS[service](actor, world)
        before = AuditEntry.objects.count()
        call()
        written = list(AuditEntry.objects.order_by("-id")[: AuditEntry.objects.count() - before])
    assert written, f"{service} wrote no audit entry"


def test_services_modules_are_found_by_their_name() -> None:
    names = service_module_names()
    assert "tandem.tenancy.services" in names
    assert "tandem.servicedesk.tickets.note_services" in names
    assert "tandem.servicedesk.config.sla_services" in names
    assert not [name for name in names if ".tests." in name]


def test_services_are_found_by_their_shape() -> None:
    found = services()
    assert "tandem.tenancy.services.create_site" in found
    assert "tandem.servicedesk.tickets.note_services.add_comment" in found
    assert "tandem.notifications.services.create_webhook" in found
    assert "tandem.tenancy.services.register_owner_maker" not in found  # positional: wiring
    assert "tandem.audit.services.diff" not in found  # a helper, not a service

"""Every write of patching (decision 0031): keeping update states in step with the agents,
policies, rings, windows and settings, approvals, install feedback and advisory imports.

Keyword-only, actor first, one transaction, audited inside it, except the states' sync: it
is derived from what a device reported (like the check-in it follows, decision 0027) and
leaves the history in the states' own times, not in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.agents import queries as agent_queries
from tandem.agents.models import PendingUpdate
from tandem.agents.versions import compare_versions
from tandem.assets.models import Device
from tandem.audit.services import record_audit
from tandem.core.errors import InvalidInput, Refused
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import advisories, compliance, events, inheritance, queries, reconcile
from tandem.patching.choices import (
    Approval,
    Classification,
    JobOutcome,
    PolicyAction,
    PolicyLevel,
    RebootMode,
    Severity,
    UpdateStatus,
)
from tandem.patching.models import (
    DeviceUpdateState,
    MaintenanceWindow,
    PatchingSettings,
    PatchPolicy,
    PatchRing,
    UpdateCatalogueEntry,
)
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY
from tandem.patching.snapshot_services import mark_compliance_changed
from tandem.patching.windows import WindowError, WindowSpec, validate
from tandem.tenancy.models import AssetGroup, ServiceArea, Site, Tenant

#: Policy decisions a person's approval or rejection overrides (and a policy change redoes).
POLICY_DECIDED = (Approval.AWAITING, Approval.AUTO, Approval.EXCLUDED)
_ACTION_APPROVAL = {
    PolicyAction.AUTO: Approval.AUTO,
    PolicyAction.MANUAL: Approval.AWAITING,
    PolicyAction.EXCLUDE: Approval.EXCLUDED,
}


def _approval(policy: inheritance.EffectivePolicy, entry: UpdateCatalogueEntry) -> str:
    action = policy.action_for(
        classification=entry.classification, severity=entry.severity, package=entry.package
    )
    return _ACTION_APPROVAL[PolicyAction(action)]


# --- Sync with the agents' data ---------------------------------------------------------------


def sync_device_updates(
    *, actor: Principal, device_id: int, now: dt.datetime | None = None
) -> reconcile.Reconciliation:
    """Bring one device's update states in step with its pending updates and installed
    software (``patching.reconcile``): set-based, a few queries whatever the count. New
    states take the approval the device's effective policy gives. Derived data, not
    audited (see the module)."""
    now = now or timezone.now()
    with system_context("patching: sync a device's updates"):
        device = Device.objects.filter(pk=device_id).first()
    if device is None:
        return reconcile.Reconciliation()
    with transaction.atomic(), within_tenant(device.tenant_id):
        offered = [
            reconcile.Offered(*row)
            for row in PendingUpdate.objects.filter(device=device).values_list(
                "item_id", "name", "current_version", "candidate_version", "security", "origin"
            )
        ]
        installed_rows = agent_queries.software(device).values_list(
            "title__item_id", "title__version", "title__source_package"
        )
        installed = {item: version for item, version, _ in installed_rows}
        sources = {item: source for item, _, source in installed_rows}
        held = [
            reconcile.Held(state_id, item, version, status)
            for state_id, item, version, status in DeviceUpdateState.objects.filter(
                device=device
            ).values_list("id", "item_id", "entry__version", "status")
        ]
        answer = reconcile.reconcile(
            offered=offered, installed=installed, held=held, compare=compare_versions
        )
        if answer.add:
            entries = _entries_for(device, answer.add, sources)
            policy = queries.effective_policy(device)
            DeviceUpdateState.objects.bulk_create(
                [
                    DeviceUpdateState(
                        tenant_id=device.tenant_id,
                        device=device,
                        entry=entries[(u.name, u.candidate_version)],
                        item_id=u.item_id,
                        current_version=u.current_version,
                        missing_since=now,
                        approval=_approval(policy, entries[(u.name, u.candidate_version)]),
                    )
                    for u in answer.add
                ],
                batch_size=500,
            )
        states = DeviceUpdateState.objects.filter(device=device)
        if answer.reopen:
            states.filter(pk__in=answer.reopen).update(
                status=UpdateStatus.MISSING, installed_at=None, closed_at=None, missing_since=now
            )
        if answer.installed:
            states.filter(pk__in=answer.installed).update(
                status=UpdateStatus.INSTALLED, installed_at=now
            )
        if answer.superseded:
            states.filter(pk__in=answer.superseded).update(
                status=UpdateStatus.SUPERSEDED, closed_at=now
            )
        if answer.add or answer.reopen or answer.installed or answer.superseded:
            # Marked at the time of this write, not the check-in's (``now``): a refresh
            # that started in between has not seen it and must run again.
            mark_compliance_changed(tenant_id=device.tenant_id)
    return answer


def _entries_for(
    device: Device, updates: Iterable[reconcile.Offered], sources: Mapping[str, str]
) -> dict[tuple[str, str], UpdateCatalogueEntry]:
    """The catalogue entries of ``updates`` (package, version), made when missing: one read,
    one insert, and one update for entries an agent now marks as security."""
    wanted = {(u.name, u.candidate_version): u for u in updates}
    existing = {
        (e.package, e.version): e
        for e in UpdateCatalogueEntry.objects.filter(
            tenant_id=device.tenant_id,
            os_family=device.os_family,
            package__in=sorted({name for name, _ in wanted}),
        )
        if (e.package, e.version) in wanted
    }
    new = [
        UpdateCatalogueEntry(
            tenant_id=device.tenant_id,
            os_family=device.os_family,
            package=name,
            version=version,
            source_package=sources.get(update.item_id, ""),
            classification=Classification.SECURITY if update.security else Classification.BUGFIX,
            source=update.origin,
            advised_by="agent",
        )
        for (name, version), update in sorted(wanted.items())
        if (name, version) not in existing
    ]
    if new:
        UpdateCatalogueEntry.objects.bulk_create(new, ignore_conflicts=True)
        existing = {
            (e.package, e.version): e
            for e in UpdateCatalogueEntry.objects.filter(
                tenant_id=device.tenant_id,
                os_family=device.os_family,
                package__in=sorted({name for name, _ in wanted}),
            )
            if (e.package, e.version) in wanted
        }
    upgraded = [
        e.pk
        for key, e in existing.items()
        if wanted[key].security and e.classification != Classification.SECURITY
    ]
    if upgraded:
        UpdateCatalogueEntry.objects.filter(pk__in=upgraded).update(
            classification=Classification.SECURITY
        )
        for e in existing.values():
            if e.pk in upgraded:
                e.classification = Classification.SECURITY
    return existing


def _reapply_policies(tenant_id: int, devices: Iterable[Device] | None = None) -> int:
    """Redo the policy's decision for the missing updates no person decided (after a
    policy change); returns how many changed."""
    states = DeviceUpdateState.objects.filter(
        tenant_id=tenant_id, status=UpdateStatus.MISSING, approval__in=POLICY_DECIDED
    ).select_related("entry", "device")
    if devices is not None:
        states = states.filter(device__in=list(devices))
    policies: dict[int, inheritance.EffectivePolicy] = {}
    changed = []
    for state in states:
        if state.device_id not in policies:
            policies[state.device_id] = queries.effective_policy(state.device)
        approval = _approval(policies[state.device_id], state.entry)
        if approval != state.approval:
            state.approval = approval
            changed.append(state)
    DeviceUpdateState.objects.bulk_update(changed, ["approval"], batch_size=500)
    return len(changed)


# --- Policies, rings, windows, settings ---------------------------------------------------


def _clean_settings(settings: Mapping[str, Any], tenant: Tenant) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(inheritance.SETTINGS))
    if unknown:
        raise InvalidInput({unknown[0]: ["No such policy setting."]})
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    actions = {a.value for a in PolicyAction}
    for name in (*inheritance.SEVERITY_SETTINGS.values(), *inheritance.CLASSIFICATION_SETTINGS):
        value = settings.get(name)
        if value is not None and value not in actions:
            errors[name] = [f"Choose one of {', '.join(sorted(actions))}, or leave it empty."]
        clean[name] = value
    for name, top in (("auto_approve_after_days", 365), ("reboot_deadline_hours", 24 * 30)):
        value = settings.get(name)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= top):
            errors[name] = [f"A whole number from 0 to {top}, or empty."]
        clean[name] = value
    mode = settings.get("reboot_mode")
    if mode is not None and mode not in {m.value for m in RebootMode}:
        errors["reboot_mode"] = ["Choose never, if_required or always, or leave it empty."]
    clean["reboot_mode"] = mode
    for name, model in (("ring_id", PatchRing), ("maintenance_window_id", MaintenanceWindow)):
        value = settings.get(name)
        if value is not None and not model.objects.filter(tenant=tenant, pk=value).exists():
            errors[name] = ["No such one in this tenant."]
        clean[name] = value
    if errors:
        raise InvalidInput(errors)
    return clean


def set_patch_policy(
    *,
    actor: Principal,
    tenant: Tenant,
    level: str,
    site: Site | None = None,
    asset_group: AssetGroup | None = None,
    device: Device | None = None,
    settings: Mapping[str, Any],
    excluded_packages: Iterable[str] = (),
) -> PatchPolicy:
    """Make or replace the policy of one level (empty settings inherit), then redo the
    policy's decision for the affected devices' updates no person decided. Audited."""
    authorize(actor, CHANGE_PATCH_POLICY, tenant)
    targets = {"site": site, "asset_group": asset_group, "device": device}
    if level not in {lv.value for lv in PolicyLevel}:
        raise InvalidInput({"level": ["Choose tenant, site, asset_group or device."]})
    for name, target in targets.items():
        if (name == level) != (target is not None):
            raise InvalidInput({"level": [f"A {level} policy names exactly its {level}."]})
        if target is not None and target.tenant_id != tenant.pk:
            raise InvalidInput({f"{name}_id": [f"No such {name} in this tenant."]})
    packages = sorted({p.strip() for p in excluded_packages if p and p.strip()})
    if any(len(p) > 500 for p in packages):
        raise InvalidInput({"excluded_packages": ["A package name is at most 500 characters."]})
    with transaction.atomic(), within_tenant(tenant.pk):
        clean = _clean_settings(settings, tenant)
        policy = PatchPolicy.objects.filter(
            tenant=tenant, level=level, **{k: v for k, v in targets.items() if v is not None}
        ).first()
        before = (
            {
                **{n: getattr(policy, n) for n in inheritance.SETTINGS},
                "excluded_packages": policy.excluded_packages,
            }
            if policy
            else {}
        )
        if policy is None:
            policy = PatchPolicy(tenant=tenant, level=level, **targets)
        for name, value in clean.items():
            setattr(policy, name, value)
        policy.excluded_packages = packages
        policy.save()
        after = {**clean, "excluded_packages": packages}
        record_audit(
            actor=actor,
            action="patching.set_patch_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
            | {"level": [None, level]},
        )
        affected = None
        if device is not None:
            affected = [device]
        elif site is not None:
            affected = list(Device.objects.filter(tenant=tenant, site=site))
        elif asset_group is not None:
            affected = list(Device.objects.filter(tenant=tenant, asset_group=asset_group))
        _reapply_policies(tenant.pk, affected)
    return policy


def create_patch_ring(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    order: int = 0,
    deferral_days: int = 0,
    min_successes: int = 0,
    max_failure_percent: int = 100,
) -> PatchRing:
    """A new deployment ring of the tenant. Audited."""
    authorize(actor, CHANGE_PATCH_POLICY, tenant)
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput({"name": ["A ring needs a name of at most 120 characters."]})
    if not 0 <= max_failure_percent <= 100:
        raise InvalidInput({"max_failure_percent": ["A percentage from 0 to 100."]})
    if not 0 <= deferral_days <= 365:
        raise InvalidInput({"deferral_days": ["From 0 to 365 days."]})
    with transaction.atomic(), within_tenant(tenant.pk):
        if PatchRing.objects.filter(tenant=tenant, name=name).exists():
            raise InvalidInput({"name": ["The tenant has a ring of that name."]})
        ring = PatchRing.objects.create(
            tenant=tenant,
            name=name,
            order=order,
            deferral_days=deferral_days,
            min_successes=min_successes,
            max_failure_percent=max_failure_percent,
        )
        record_audit(
            actor=actor,
            action="patching.create_patch_ring",
            target=ring,
            tenant_id=tenant.pk,
            changes={"name": [None, name], "deferral_days": [None, deferral_days]},
        )
    return ring


def create_maintenance_window(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    rrule: str,
    first_start: dt.datetime,
    time_zone: str,
    duration_minutes: int,
) -> MaintenanceWindow:
    """A new maintenance window (its rule checked by expanding it). Audited."""
    authorize(actor, CHANGE_PATCH_POLICY, tenant)
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput({"name": ["A window needs a name of at most 120 characters."]})
    local_start = first_start.replace(tzinfo=None)
    try:
        validate(
            WindowSpec(
                rule=rrule,
                first_start=local_start,
                time_zone=time_zone,
                duration=dt.timedelta(minutes=duration_minutes),
            )
        )
    except WindowError as exc:
        raise InvalidInput({"rrule": [str(exc)]}) from exc
    with transaction.atomic(), within_tenant(tenant.pk):
        if MaintenanceWindow.objects.filter(tenant=tenant, name=name).exists():
            raise InvalidInput({"name": ["The tenant has a window of that name."]})
        window = MaintenanceWindow.objects.create(
            tenant=tenant,
            name=name,
            rrule=rrule.strip().removeprefix("RRULE:"),
            # Stored as the local wall-clock time written as UTC: the zone is its own field.
            first_start=local_start.replace(tzinfo=dt.UTC),
            time_zone=time_zone,
            duration_minutes=duration_minutes,
        )
        record_audit(
            actor=actor,
            action="patching.create_maintenance_window",
            target=window,
            tenant_id=tenant.pk,
            changes={
                "name": [None, name],
                "rrule": [None, window.rrule],
                "time_zone": [None, time_zone],
            },
        )
    return window


def _refuse_while_used(kind: str, name: str, policies: Iterable[PatchPolicy]) -> None:
    """422 naming every policy that still uses the window or ring: deleting it would change
    those policies' plans behind their owner's back (the model protects the row too)."""
    users = sorted(queries.policy_label(p) for p in policies)
    if users:
        raise InvalidInput(
            {
                "__all__": [
                    f"The {kind} {name} is used by {len(users)} polic"
                    f"{'y' if len(users) == 1 else 'ies'}: {', '.join(users)}. "
                    f"Choose another {kind} there (or inherit) first."
                ]
            }
        )


def delete_maintenance_window(*, actor: Principal, window: MaintenanceWindow) -> None:
    """Delete a maintenance window no policy uses (decision 0031); refused with the policies
    that use it otherwise. Audited with what it was."""
    authorize(actor, CHANGE_PATCH_POLICY, window)
    with transaction.atomic(), within_tenant(window.tenant_id):
        # Locked so that a policy saved meanwhile cannot start using it unseen.
        locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        users = PatchPolicy.objects.filter(maintenance_window=locked).select_related(
            "site", "asset_group", "device"
        )
        _refuse_while_used("maintenance window", locked.name, users)
        record_audit(
            actor=actor,
            action="patching.delete_maintenance_window",
            target=locked,
            tenant_id=locked.tenant_id,
            changes={
                "name": [locked.name, None],
                "rrule": [locked.rrule, None],
                "time_zone": [locked.time_zone, None],
                "duration_minutes": [locked.duration_minutes, None],
            },
        )
        locked.delete()


def delete_patch_ring(*, actor: Principal, ring: PatchRing) -> None:
    """Delete a deployment ring no policy uses; refused with the policies that use it
    otherwise. Audited with what it was."""
    authorize(actor, CHANGE_PATCH_POLICY, ring)
    with transaction.atomic(), within_tenant(ring.tenant_id):
        locked = PatchRing.objects.select_for_update().get(pk=ring.pk)
        users = PatchPolicy.objects.filter(ring=locked).select_related(
            "site", "asset_group", "device"
        )
        _refuse_while_used("ring", locked.name, users)
        record_audit(
            actor=actor,
            action="patching.delete_patch_ring",
            target=locked,
            tenant_id=locked.tenant_id,
            changes={
                "name": [locked.name, None],
                "order": [locked.order, None],
                "deferral_days": [locked.deferral_days, None],
            },
        )
        locked.delete()


def set_patching_area(
    *, actor: Principal, tenant: Tenant, service_area: ServiceArea | None
) -> PatchingSettings:
    """Choose the service area whose matrix rows say who approves updates. Audited."""
    authorize(actor, CHANGE_PATCH_POLICY, tenant)
    if service_area is not None and service_area.tenant_id != tenant.pk:
        raise InvalidInput({"service_area_id": ["No such service area in this tenant."]})
    with transaction.atomic(), within_tenant(tenant.pk):
        chosen, _ = PatchingSettings.objects.get_or_create(tenant=tenant)
        before = chosen.service_area_id
        chosen.service_area = service_area
        chosen.save()
        record_audit(
            actor=actor,
            action="patching.set_patching_area",
            target=chosen,
            tenant_id=tenant.pk,
            changes={"service_area_id": [before, service_area.pk if service_area else None]},
        )
        mark_compliance_changed(tenant_id=tenant.pk)  # the responsible parties may move
    return chosen


#: Bounds of the compliance settings (days); outside them a clear error, nothing changed.
COMPLIANCE_DAY_LIMITS = {
    "compliance_days": (1, 365),
    "staleness_days": (1, 365),
    "reboot_debt_days": (0, 365),
}


def set_compliance_settings(
    *,
    actor: Principal,
    tenant: Tenant,
    preset: str,
    days: int | None = None,
    staleness_days: int | None = None,
    reboot_debt_days: int | None = None,
    internet_facing_group: AssetGroup | None = None,
) -> PatchingSettings:
    """Choose the framework the patch compliance figures judge by (decision 0033): a
    preset, the custom preset's days, the staleness threshold that puts a device out of
    scope, the age of a pending reboot that is debt, and the asset group the Essential
    Eight's internet-facing deadlines apply to. Settings left as None keep their value.
    The tenant's own IT's (``change_patchpolicy``). Audited with before and after."""
    authorize(actor, CHANGE_PATCH_POLICY, tenant)
    errors: dict[str, list[str]] = {}
    if preset not in {value for value, _ in compliance.Preset.CHOICES}:
        errors["preset"] = ["Choose one of: " + ", ".join(v for v, _ in compliance.Preset.CHOICES)]
    given = {
        "compliance_days": days,
        "staleness_days": staleness_days,
        "reboot_debt_days": reboot_debt_days,
    }
    for name, value in given.items():
        low, high = COMPLIANCE_DAY_LIMITS[name]
        if value is not None and not low <= value <= high:
            errors[name] = [f"Between {low} and {high} days."]
    if internet_facing_group is not None and internet_facing_group.tenant_id != tenant.pk:
        errors["internet_facing_group_id"] = ["No such asset group in this tenant."]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic(), within_tenant(tenant.pk):
        chosen, _ = PatchingSettings.objects.get_or_create(tenant=tenant)
        wanted: dict[str, Any] = {
            "compliance_preset": preset,
            "internet_facing_group_id": internet_facing_group.pk if internet_facing_group else None,
            **{name: value for name, value in given.items() if value is not None},
        }
        changes = {
            name: [getattr(chosen, name), value]
            for name, value in wanted.items()
            if getattr(chosen, name) != value
        }
        for name, value in wanted.items():
            setattr(chosen, name, value)
        chosen.save()
        mark_compliance_changed(tenant_id=tenant.pk)
        record_audit(
            actor=actor,
            action="patching.set_compliance_settings",
            target=chosen,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return chosen


# --- Approvals ----------------------------------------------------------------------------


def decide_updates(
    *,
    actor: Principal,
    device: Device,
    entry_ids: Iterable[int],
    approve: bool,
    reason: str = "",
) -> list[DeviceUpdateState]:
    """Approve (or reject) missing updates of one device, as the party the responsibility
    matrix names for the device (``queries.approver_of``). Anyone else is refused with the
    party's name and nothing changes. Records who, for which party and when on each state;
    audited; records ``patching.updates_decided``."""
    wanted = sorted(set(entry_ids))
    if not wanted:
        raise InvalidInput({"entry_ids": ["Name at least one update."]})
    if len(reason) > 500:
        raise InvalidInput({"reason": ["At most 500 characters."]})
    authorize(actor, APPROVE_UPDATES, device.tenant)
    now = timezone.now()
    with transaction.atomic(), within_tenant(device.tenant_id):
        decision = queries.approver_of(device, at=now)
        if not actor.is_system:
            acting = [
                a
                for a in actor.accesses_with(APPROVE_UPDATES, device.tenant_id)
                if a.party_id == decision.party_id
            ]
            if not acting:
                raise Refused(
                    "Updates of this device are approved by the party the responsibility "
                    f"matrix names ({decision.reason}); you do not act for it."
                )
        states = list(
            DeviceUpdateState.objects.select_for_update()
            .filter(device=device, entry_id__in=wanted, status=UpdateStatus.MISSING)
            .order_by("id")
        )
        found = {s.entry_id for s in states}
        if missing := [e for e in wanted if e not in found]:
            raise InvalidInput({"entry_ids": [f"Not missing on this device: {missing[0]}."]})
        approval = Approval.APPROVED if approve else Approval.REJECTED
        for state in states:
            state.approval = approval
            state.approved_by_id = actor.user_id
            state.approved_party_id = decision.party_id
            state.approved_at = now
            state.approval_reason = reason
        DeviceUpdateState.objects.bulk_update(
            states,
            ["approval", "approved_by", "approved_party", "approved_at", "approval_reason"],
        )
        record_audit(
            actor=actor,
            action="patching.approve_updates" if approve else "patching.reject_updates",
            target=device,
            tenant_id=device.tenant_id,
            changes={
                "entry_ids": [None, wanted],
                "approval": [None, approval.value],
                "party_id": [None, decision.party_id],
                "reason": [None, reason],
            },
            party_id=decision.party_id,
        )
        events.updates_decided(
            tenant_id=device.tenant_id,
            device_id=device.pk,
            entry_ids=wanted,
            approved=approve,
            party_id=decision.party_id,
            actor_user_id=actor.user_id,
            actor_label=actor.label,
        )
    return states


def record_install_feedback(
    *,
    actor: Principal,
    device: Device,
    entry_ids: Iterable[int],
    outcome: str,
    message: str = "",
    reboot_required: bool = False,
) -> int:
    """What an install job said for some updates on a device (the jobs wiring calls it
    with the job's result): the last outcome, message and time, and whether a reboot is
    due. Installation itself is confirmed by the next inventory (``sync_device_updates``).
    Audited."""
    if outcome not in {o.value for o in JobOutcome}:
        raise InvalidInput({"outcome": ["Either succeeded or failed."]})
    wanted = sorted(set(entry_ids))
    now = timezone.now()
    with transaction.atomic(), within_tenant(device.tenant_id):
        changed = DeviceUpdateState.objects.filter(device=device, entry_id__in=wanted).update(
            last_job_outcome=outcome,
            last_job_message=message[:2000],
            last_job_at=now,
            reboot_required=reboot_required,
        )
        record_audit(
            actor=actor,
            action="patching.record_install_feedback",
            target=device,
            tenant_id=device.tenant_id,
            changes={"entry_ids": [None, wanted], "outcome": [None, outcome]},
        )
    return changed


# --- Advisories ---------------------------------------------------------------------------


def _advise(
    actor: Principal,
    entries: list[UpdateCatalogueEntry],
    advised_by: str,
) -> int:
    """Save advisory fields of ``entries`` and audit once per tenant touched."""
    if not entries:
        return 0
    UpdateCatalogueEntry.objects.bulk_update(
        entries, ["severity", "cve_ids", "released_at", "classification", "advised_by"]
    )
    by_tenant: dict[int, list[UpdateCatalogueEntry]] = {}
    for entry in entries:
        by_tenant.setdefault(entry.tenant_id, []).append(entry)
    for tenant_id, touched in sorted(by_tenant.items()):
        record_audit(
            actor=actor,
            action="patching.import_advisories",
            target=touched[0],
            tenant_id=tenant_id,
            changes={"source": [None, advised_by], "entries": [None, len(touched)]},
        )
        _reapply_policies(tenant_id)
        mark_compliance_changed(tenant_id=tenant_id)  # severities and release dates moved
    return len(entries)


def import_debian_advisories(
    *, actor: Principal, data: Mapping[str, Any], release: str, os_family: str = "linux"
) -> int:
    """Set severity and CVE ids of every tenant's Linux catalogue entries from the Debian
    Security Tracker JSON, for one release (``advisories.fixed_by``); returns how many
    entries changed. Run by an operator (``tandem patching import-advisories``)."""
    fixes = advisories.debian_fixes(data, release)
    changed = []
    with transaction.atomic(), system_context("patching: import Debian advisories"):
        entries = UpdateCatalogueEntry.objects.filter(os_family=os_family)
        for entry in entries:
            package_fixes = fixes.get(entry.source_package or entry.package) or fixes.get(
                entry.package
            )
            if not package_fixes:
                continue
            currents = DeviceUpdateState.objects.filter(entry=entry).values_list(
                "current_version", flat=True
            )
            cves, severity = advisories.fixed_by(
                version=entry.version,
                current_versions=list(currents),
                fixes=package_fixes,
                compare=compare_versions,
            )
            if not cves:
                continue
            if list(cves) != entry.cve_ids or severity != entry.severity:
                entry.cve_ids = list(cves)
                entry.severity = severity
                entry.classification = Classification.SECURITY
                entry.advised_by = f"debian-tracker:{release}"[:100]
                changed.append(entry)
        return _advise(actor, changed, f"debian-tracker:{release}")


def import_advisory_csv(*, actor: Principal, text: str) -> int:
    """Set severity, CVE ids and release dates of every tenant's catalogue entries named in
    a CSV (``advisories.read_csv``); returns how many entries changed. A malformed file
    changes nothing."""
    try:
        bulletins = advisories.read_csv(text)
    except advisories.AdvisoryError as exc:
        raise InvalidInput({"file": [str(exc)]}) from exc
    by_key = {(b.os_family, b.package, b.version): b for b in bulletins}
    changed = []
    with transaction.atomic(), system_context("patching: import advisory CSV"):
        for entry in UpdateCatalogueEntry.objects.filter(
            package__in=sorted({b.package for b in bulletins})
        ):
            bulletin = by_key.get((entry.os_family, entry.package, entry.version))
            if bulletin is None:
                continue
            released = (
                dt.datetime.combine(bulletin.released_on, dt.time(), tzinfo=dt.UTC)
                if bulletin.released_on
                else entry.released_at
            )
            entry.severity = bulletin.severity or Severity.UNKNOWN
            entry.cve_ids = list(bulletin.cve_ids)
            entry.released_at = released
            if bulletin.cve_ids:
                entry.classification = Classification.SECURITY
            entry.advised_by = "csv"
            changed.append(entry)
        return _advise(actor, changed, "csv")

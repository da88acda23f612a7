"""The patching API under ``/api/v1/patching/``: a tenant's summary, a device's updates and
effective policy, approving or rejecting a device's updates, the reader's approval queue
across tenants, and setting policies, windows and rings.

Thin handlers: the tenant through ``tenant_in_reach``, devices through the assets queries
(404 out of reach), one service or query.
"""

from django.shortcuts import get_object_or_404
from ninja import Query, Router

from tandem.assets import queries as device_queries
from tandem.core.actions import declare_action
from tandem.core.api import Id
from tandem.core.errors import InvalidInput
from tandem.core.policies import visible
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.patching import exports, queries, services, snapshot_queries
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY, VIEW_PATCHING
from tandem.patching.policies import VIEW_PATCH_POLICY
from tandem.patching.schemas import (
    ComplianceOut,
    ComplianceSettingsIn,
    ComplianceSettingsOut,
    DecisionIn,
    EffectivePolicyOut,
    PolicyIn,
    PolicyOut,
    PresetName,
    QueueItemOut,
    RingIn,
    RingOut,
    SummaryOut,
    UpdateStateOut,
    WindowIn,
    WindowOut,
)
from tandem.tenancy.models import AssetGroup

router = Router(tags=["patching"])
#: Rows a device's update list answers at most.
DEVICE_ROWS = 2000


def _state_out(state) -> dict:  # type: ignore[no-untyped-def]
    entry = state.entry
    return {
        "id": state.pk,
        "device_id": state.device_id,
        "entry_id": state.entry_id,
        "package": entry.package,
        "version": entry.version,
        "item_id": state.item_id,
        "classification": entry.classification,
        "severity": entry.severity,
        "cve_ids": entry.cve_ids,
        "status": state.status,
        "missing_since": state.missing_since,
        "installed_at": state.installed_at,
        "approval": state.approval,
        "approved_by_id": state.approved_by_id,
        "approved_party_id": state.approved_party_id,
        "approved_at": state.approved_at,
        "last_job_outcome": state.last_job_outcome,
        "last_job_at": state.last_job_at,
    }


@router.get("/patching/tenants/{tenant_id}/summary", response=SummaryOut)
@declare_action(VIEW_PATCHING)
def summary(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """Missing updates by severity and per device (worst first) of the devices the caller
    sees, and how many await approval."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCHING)
    board = queries.dashboard(request.principal, tenant.pk)
    return {
        "tenant_id": tenant.pk,
        "missing_by_severity": board.by_severity,
        "awaiting_approval": board.awaiting_approval,
        "devices": [
            {"device_id": r.device_id, "name": r.device_name, "missing": r.counts}
            for r in board.devices
        ],
    }


@router.get("/patching/devices/{device_id}/updates", response=list[UpdateStateOut])
@declare_action(VIEW_PATCHING)
def device_updates(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The device's updates: missing, installed and superseded, with approvals."""
    device = device_queries.device(request.principal, device_id)
    states = queries.device_updates(request.principal, device)[:DEVICE_ROWS]
    return [_state_out(s) for s in states]


@router.get("/patching/devices/{device_id}/effective-policy", response=EffectivePolicyOut)
@declare_action(VIEW_PATCHING)
def effective_policy(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The policy that applies to the device, where each setting comes from, and the party
    that approves its updates."""
    device = device_queries.device(request.principal, device_id)
    policy = queries.effective_policy(device)
    decision = queries.approver_of(device)
    return {
        "values": dict(policy.values),
        "sources": dict(policy.sources),
        "excluded_packages": {k: list(v) for k, v in policy.excluded_packages.items()},
        "approver_party_id": decision.party_id,
        "approver_reason": decision.reason,
    }


@router.post("/patching/devices/{device_id}/decisions", response=list[UpdateStateOut])
@declare_action(APPROVE_UPDATES)
def decide(request: TandemRequest, device_id: Id, payload: DecisionIn):  # type: ignore[no-untyped-def]
    """Approve (``approve: true``) or reject missing updates of the device; 403 with the
    responsible party's name for anyone the responsibility matrix does not name."""
    device = device_queries.device(request.principal, device_id)
    states = services.decide_updates(
        actor=request.principal,
        device=device,
        entry_ids=payload.entry_ids,
        approve=payload.approve,
        reason=payload.reason,
    )
    return [
        _state_out(s)
        for s in queries.device_updates(request.principal, device).filter(
            pk__in=[s.pk for s in states]
        )
    ]


@router.get("/patching/approvals", response=list[QueueItemOut])
@declare_action(APPROVE_UPDATES)
def approval_queue(request: TandemRequest, tenant_id: Id | None = None):  # type: ignore[no-untyped-def]
    """Updates awaiting approval by the caller's party, across its tenants (or one)."""
    return [
        {
            "tenant_id": item.state.tenant_id,
            "device_id": item.state.device_id,
            "device_name": item.state.device.name,
            "entry_id": item.state.entry_id,
            "package": item.state.entry.package,
            "version": item.state.entry.version,
            "severity": item.state.entry.severity,
            "missing_since": item.state.missing_since,
            "party_name": item.party_name,
        }
        for item in queries.approval_queue(request.principal, tenant_id)
    ]


@router.get("/patching/tenants/{tenant_id}/policies", response=list[PolicyOut])
@declare_action(VIEW_PATCH_POLICY)
def list_policies(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's policies the caller may read."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCH_POLICY)
    return list(queries.visible_policies(request.principal, tenant.pk))


@router.put("/patching/tenants/{tenant_id}/policies", response=PolicyOut)
@declare_action(CHANGE_PATCH_POLICY)
def set_policy(request: TandemRequest, tenant_id: Id, payload: PolicyIn):  # type: ignore[no-untyped-def]
    """Make or replace the policy of one level (empty settings inherit)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    targets = queries.policy_target(principal, tenant, payload.level, payload.target_id)
    return services.set_patch_policy(
        actor=principal,
        tenant=tenant,
        level=payload.level,
        settings=payload.settings.dict(),
        excluded_packages=payload.excluded_packages,
        **targets,
    )


@router.post("/patching/tenants/{tenant_id}/windows", response={201: WindowOut})
@declare_action(CHANGE_PATCH_POLICY)
def create_window(request: TandemRequest, tenant_id: Id, payload: WindowIn):  # type: ignore[no-untyped-def]
    """A new maintenance window (RFC 5545 RRULE, local first start, time zone, minutes)."""
    tenant = tenant_in_reach(request.principal, tenant_id, CHANGE_PATCH_POLICY)
    window = services.create_maintenance_window(
        actor=request.principal,
        tenant=tenant,
        name=payload.name,
        rrule=payload.rrule,
        first_start=payload.first_start,
        time_zone=payload.time_zone,
        duration_minutes=payload.duration_minutes,
    )
    row = next(r for r in queries.window_rows(tenant.pk) if r.window.pk == window.pk)
    return 201, {
        "id": window.pk,
        "name": window.name,
        "rrule": window.rrule,
        "time_zone": window.time_zone,
        "duration_minutes": window.duration_minutes,
        "next_start": row.next_start,
        "next_end": row.next_end,
    }


@router.post("/patching/tenants/{tenant_id}/rings", response={201: RingOut})
@declare_action(CHANGE_PATCH_POLICY)
def create_ring(request: TandemRequest, tenant_id: Id, payload: RingIn):  # type: ignore[no-untyped-def]
    """A new deployment ring."""
    tenant = tenant_in_reach(request.principal, tenant_id, CHANGE_PATCH_POLICY)
    ring = services.create_patch_ring(actor=request.principal, tenant=tenant, **payload.dict())
    return 201, ring


@router.delete("/patching/tenants/{tenant_id}/windows/{window_id}", response={204: None})
@declare_action(CHANGE_PATCH_POLICY)
def delete_window(request: TandemRequest, tenant_id: Id, window_id: Id):  # type: ignore[no-untyped-def]
    """Delete a maintenance window; 422 naming the policies that still use it."""
    tenant = tenant_in_reach(request.principal, tenant_id, CHANGE_PATCH_POLICY)
    window = get_object_or_404(queries.windows(tenant.pk), pk=window_id)
    services.delete_maintenance_window(actor=request.principal, window=window)
    return 204, None


@router.delete("/patching/tenants/{tenant_id}/rings/{ring_id}", response={204: None})
@declare_action(CHANGE_PATCH_POLICY)
def delete_ring(request: TandemRequest, tenant_id: Id, ring_id: Id):  # type: ignore[no-untyped-def]
    """Delete a deployment ring; 422 naming the policies that still use it."""
    tenant = tenant_in_reach(request.principal, tenant_id, CHANGE_PATCH_POLICY)
    ring = get_object_or_404(queries.rings(tenant.pk), pk=ring_id)
    services.delete_patch_ring(actor=request.principal, ring=ring)
    return 204, None


@router.get("/patching/tenants/{tenant_id}/compliance", response=ComplianceOut)
@declare_action(VIEW_PATCHING)
def compliance(  # type: ignore[no-untyped-def]
    request: TandemRequest,
    tenant_id: Id,
    period_days: int = Query(90, ge=1, le=730),
    preset: PresetName | None = None,
):
    """Patch compliance over the devices the caller sees (decision 0033): % devices current
    under the tenant's preset (or ``preset``, to compare: read from the same snapshot),
    SLA attainment and time to patch over ``period_days``, reboot debt and coverage,
    overall, per site and per responsible party."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCHING)
    found = snapshot_queries.compliance_for_reader(
        tenant.pk, principal=request.principal, period_days=period_days, preset=preset
    )
    return exports.compliance_json(found)


@router.get("/patching/tenants/{tenant_id}/compliance.csv")
@declare_action(VIEW_PATCHING)
def compliance_csv(  # type: ignore[no-untyped-def]
    request: TandemRequest, tenant_id: Id, preset: PresetName | None = None
):
    """The same, one CSV row per device the caller sees."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCHING)
    found = snapshot_queries.compliance_for_reader(
        tenant.pk, principal=request.principal, preset=preset
    )
    return exports.csv_response(found, f"patch-compliance-tenant-{tenant.pk}.csv")


def _settings_out(chosen) -> dict:  # type: ignore[no-untyped-def]
    return {
        "preset": chosen.compliance_preset,
        "days": chosen.compliance_days,
        "staleness_days": chosen.staleness_days,
        "reboot_debt_days": chosen.reboot_debt_days,
        "internet_facing_group_id": chosen.internet_facing_group_id,
    }


@router.get("/patching/tenants/{tenant_id}/compliance-settings", response=ComplianceSettingsOut)
@declare_action(VIEW_PATCHING)
def get_compliance_settings(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's compliance preset and thresholds."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCHING)
    return _settings_out(queries.compliance_settings(tenant.pk))


@router.put("/patching/tenants/{tenant_id}/compliance-settings", response=ComplianceSettingsOut)
@declare_action(CHANGE_PATCH_POLICY)
def set_compliance_settings(  # type: ignore[no-untyped-def]
    request: TandemRequest, tenant_id: Id, payload: ComplianceSettingsIn
):
    """Choose the preset (and thresholds) the compliance figures judge by: the tenant's IT."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    group = None
    if payload.internet_facing_group_id is not None:
        group = (
            visible(principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant=tenant))
            .filter(pk=payload.internet_facing_group_id)
            .first()
        )
        if group is None:
            raise InvalidInput(
                {"internet_facing_group_id": ["No such asset group in this tenant."]}
            )
    chosen = services.set_compliance_settings(
        actor=principal,
        tenant=tenant,
        preset=payload.preset,
        days=payload.days,
        staleness_days=payload.staleness_days,
        reboot_debt_days=payload.reboot_debt_days,
        internet_facing_group=group,
    )
    return _settings_out(chosen)

"""The alerts API, one router the registry mounts at ``/api/v1/`` (decision 0037): the
alerts the caller sees (a provider: across its clients, within its engagements), one alert
with its sample of events, triage actions, the tenant's suppressions and settings.

Thin handlers: the alert or tenant through the queries (404 out of reach), one service.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.alerts import queries, services
from tandem.alerts.permissions import (
    CHANGE_ALERT_SETTINGS,
    CHANGE_SUPPRESSION,
    TRIAGE_ALERT,
    VIEW_ALERT,
)
from tandem.alerts.policies import VIEW_SUPPRESSION
from tandem.alerts.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertQuery,
    AlertSettingsIn,
    AlertSettingsOut,
    FalsePositiveIn,
    ResolveIn,
    SuppressionIn,
    SuppressionOut,
)
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest

router = Router(tags=["alerts"])


@router.get("/alerts", response=list[AlertOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_ALERT)
def list_alerts(request: TandemRequest, filters: Query[AlertQuery]):  # type: ignore[no-untyped-def]
    """The alerts the caller sees, worst first (severity, then the latest detection);
    ``status=open`` for new and acknowledged ones."""
    return queries.alerts(
        request.principal,
        queries.AlertFilters(
            status=filters.status,
            severity=filters.severity,
            tenant_id=filters.tenant_id,
            rule_id=filters.rule_id,
        ),
    )


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
@declare_action(VIEW_ALERT)
def get_alert(request: TandemRequest, alert_id: Id):  # type: ignore[no-untyped-def]
    """One alert with its first and latest events."""
    return queries.alert(request.principal, alert_id)


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut)
@declare_action(TRIAGE_ALERT)
def acknowledge(request: TandemRequest, alert_id: Id):  # type: ignore[no-untyped-def]
    """Someone is on it (409 when it is not new)."""
    principal = request.principal
    return services.acknowledge_alert(actor=principal, alert=queries.alert(principal, alert_id))


@router.post("/alerts/{alert_id}/false-positive", response=AlertOut)
@declare_action(TRIAGE_ALERT)
def false_positive(request: TandemRequest, alert_id: Id, payload: FalsePositiveIn):  # type: ignore[no-untyped-def]
    """No threat: closed with the reason (required); its ticket is resolved unless
    ``resolve_ticket`` is false."""
    principal = request.principal
    return services.mark_false_positive(
        actor=principal,
        alert=queries.alert(principal, alert_id),
        reason=payload.reason,
        resolve_ticket=payload.resolve_ticket,
    )


@router.post("/alerts/{alert_id}/resolve", response=AlertOut)
@declare_action(TRIAGE_ALERT)
def resolve(request: TandemRequest, alert_id: Id, payload: ResolveIn):  # type: ignore[no-untyped-def]
    """Dealt with: resolved with an optional note; ``resolve_ticket`` resolves its ticket."""
    principal = request.principal
    return services.resolve_alert(
        actor=principal,
        alert=queries.alert(principal, alert_id),
        note=payload.note,
        resolve_ticket=payload.resolve_ticket,
    )


@router.get("/alerts/tenants/{tenant_id}/suppressions", response=list[SuppressionOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_SUPPRESSION)
def list_suppressions(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's suppressions, newest first, active or not."""
    principal = request.principal
    tenant = queries.alerts_tenant(principal, tenant_id)
    return queries.suppressions(principal, tenant.pk)


@router.post("/alerts/tenants/{tenant_id}/suppressions", response={201: SuppressionOut})
@declare_action(CHANGE_SUPPRESSION)
def create_suppression(request: TandemRequest, tenant_id: Id, payload: SuppressionIn):  # type: ignore[no-untyped-def]
    """Silence matching detections until the expiry, with a reason (both required)."""
    principal = request.principal
    tenant = queries.alerts_tenant(principal, tenant_id, CHANGE_SUPPRESSION)
    found = services.create_suppression(
        actor=principal,
        tenant=tenant,
        rule_id=payload.rule_id,
        host=payload.host,
        key_fields=payload.key_fields,
        reason=payload.reason,
        expires_at=payload.expires_at,
    )
    return 201, found


@router.post("/alerts/suppressions/{suppression_id}/lift", response=SuppressionOut)
@declare_action(CHANGE_SUPPRESSION)
def lift_suppression(request: TandemRequest, suppression_id: Id):  # type: ignore[no-untyped-def]
    """End a suppression before its expiry (409 when it ended already)."""
    principal = request.principal
    return services.lift_suppression(
        actor=principal, suppression=queries.suppression(principal, suppression_id)
    )


@router.get("/alerts/tenants/{tenant_id}/settings", response=AlertSettingsOut)
@declare_action(VIEW_ALERT)
def get_settings(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's dedup window."""
    tenant = queries.alerts_tenant(request.principal, tenant_id)
    return {"tenant_id": tenant.pk, "dedup_window_minutes": queries.window_minutes(tenant.pk)}


@router.put("/alerts/tenants/{tenant_id}/settings", response=AlertSettingsOut)
@declare_action(CHANGE_ALERT_SETTINGS)
def put_settings(request: TandemRequest, tenant_id: Id, payload: AlertSettingsIn):  # type: ignore[no-untyped-def]
    """Set the dedup window (the tenant's own IT; 409 when nothing changes)."""
    principal = request.principal
    tenant = queries.alerts_tenant(principal, tenant_id, CHANGE_ALERT_SETTINGS)
    found = services.set_alert_settings(
        actor=principal, tenant=tenant, dedup_window_minutes=payload.dedup_window_minutes
    )
    return {"tenant_id": tenant.pk, "dedup_window_minutes": found.dedup_window_minutes}

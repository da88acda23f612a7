"""Who sees and does what with alerts (decision 0037).

- The tenant's own IT (and its auditors, reading) reach every alert and suppression of the
  tenant.
- A provider reaches them only through an engagement that covers the tenant's *security
  monitoring* service area (the area stored on each alert and suppression when it was
  made); an engagement narrowed to sites or asset groups reaches only the alerts of the
  devices placed there (an alert on a host that is no known device stays with the
  engagements not so narrowed: fail closed).
- Triage (acknowledge, false positive, resolve) and suppressions also need the engagement
  to allow ``security.triage``: the tenant decides, on top of the provider's roles. A
  suppression silences the whole tenant's matching detections, so a provider makes or
  lifts one only through an engagement not narrowed to sites or groups.
- The tenant's alert settings (the dedup window) are its own IT's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tandem.alerts.permissions import (
    CHANGE_ALERT_SETTINGS,
    CHANGE_SUPPRESSION,
    ENGAGEMENT_TRIAGE,
    REACH_ALERTS,
    SECURITY_AREA_KEY,
    TRIAGE_ALERT,
    VIEW_ALERT,
)
from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.core.scoping import system_context
from tandem.tenancy.models import ServiceArea

NOTHING = Q(pk__in=[])


def alert_scope(access: TenantAccess) -> Q:
    """The alerts one access reads (see the module's rules)."""
    if access.provider_id is None:
        return Q()
    rule = Q(service_area_id__in=sorted(access.service_area_ids or ()))
    if access.site_ids is not None:
        rule &= Q(device__site_id__in=sorted(access.site_ids))
    if access.asset_group_ids is not None:
        rule &= Q(device__asset_group_id__in=sorted(access.asset_group_ids))
    return rule


def triage_scope(access: TenantAccess) -> Q:
    """The alerts one access triages: those it reads, for a provider only when its
    engagement allows triage."""
    if access.provider_id is not None and ENGAGEMENT_TRIAGE not in access.engagement_actions:
        return NOTHING
    return alert_scope(access)


def suppression_scope(access: TenantAccess) -> Q:
    """The suppressions one access reads: a provider's when its engagement covers the area."""
    if access.provider_id is None:
        return Q()
    return Q(service_area_id__in=sorted(access.service_area_ids or ()))


def may_suppress_in(access: TenantAccess, area_id: int | None) -> bool:
    """Whether an access may make or lift the tenant's suppressions (no query)."""
    if access.provider_id is None:
        return True
    return (
        ENGAGEMENT_TRIAGE in access.engagement_actions
        and area_id is not None
        and area_id in (access.service_area_ids or ())
        and access.site_ids is None
        and access.asset_group_ids is None
    )


def _suppression_change_scope(access: TenantAccess) -> Q:
    """The suppressions one access lifts: its own IT's all; a provider's those of the area
    its engagement covers, when the engagement allows triage and is not narrowed."""
    if access.provider_id is None:
        return Q()
    if (
        ENGAGEMENT_TRIAGE not in access.engagement_actions
        or access.site_ids is not None
        or access.asset_group_ids is not None
    ):
        return NOTHING
    return suppression_scope(access)


def suppressing_access(
    principal: Principal, tenant_id: int, area_id: int | None
) -> TenantAccess | None:
    """The access through which ``principal`` makes a suppression in the tenant (its own
    IT preferred), else None. Plain data: no query."""
    candidates = [
        access
        for access in principal.accesses_with(CHANGE_SUPPRESSION, tenant_id)
        if (access.provider_id is None and access.party_id is not None)
        or may_suppress_in(access, area_id)
    ]
    candidates.sort(key=lambda access: access.provider_id is not None)
    return candidates[0] if candidates else None


view_alert = policy(VIEW_ALERT)(ScopedPermission(VIEW_ALERT, rule=alert_scope))
triage_alert = policy(TRIAGE_ALERT)(ScopedPermission(TRIAGE_ALERT, rule=triage_scope))
#: Reading suppressions: the alert permission, with the suppression rule.
VIEW_SUPPRESSION = "alerts.view_suppression"
view_suppression = policy(VIEW_SUPPRESSION)(ScopedPermission(VIEW_ALERT, rule=suppression_scope))
change_suppression = policy(CHANGE_SUPPRESSION)(
    ScopedPermission(CHANGE_SUPPRESSION, rule=_suppression_change_scope)
)
change_alert_settings = policy(CHANGE_ALERT_SETTINGS)(
    ScopedPermission(CHANGE_ALERT_SETTINGS, internal_only=True)
)


@policy(REACH_ALERTS)
def reach_alerts(principal: Principal, tenant: Any = None) -> bool:
    """Whether the alert pages are worth a link (the "Alerts" of the tenant menu, or of the
    workspace menu without a tenant): the tenant's own IT and auditors holding the alert
    permission, or a provider whose engagement covers security monitoring there (anywhere,
    for the workspace). A provider engaged for other work holds the permission by role, but
    its link would lead to a 404 (the tenant's pages) or an empty queue. One query, for
    providers only."""
    accesses = principal.accesses_with(VIEW_ALERT, tenant.pk if tenant is not None else None)
    if any(access.provider_id is None for access in accesses):
        return True
    areas = sorted({area for access in accesses for area in access.service_area_ids or ()})
    if not areas:
        return False
    with system_context("do the engagements cover security monitoring"):
        return ServiceArea.objects.filter(pk__in=areas, key=SECURITY_AREA_KEY).exists()

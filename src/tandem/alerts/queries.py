"""Reads of alerts (decision 0037): the alerts a reader sees (one tenant's or, for the
provider running security monitoring, every client's), one alert with its sample, the
tenant's suppressions and settings, and whether a reader reaches a tenant's alert pages at
all (its own IT, or a provider whose engagement covers the tenant's security monitoring).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from tandem.alerts.choices import SEVERITY_RANK, AlertStatus, Severity
from tandem.alerts.models import (
    DEFAULT_WINDOW_MINUTES,
    Alert,
    AlertEvent,
    AlertSettings,
    Suppression,
)
from tandem.alerts.permissions import SECURITY_AREA_KEY, VIEW_ALERT
from tandem.alerts.policies import VIEW_SUPPRESSION
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.request import NOT_FOUND, tenant_in_reach
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import ServiceArea, Tenant


@dataclass(frozen=True)
class AlertFilters:
    """What the queue and the lists narrow by (each optional)."""

    status: str = ""
    severity: str = ""
    tenant_id: int | None = None
    rule_id: str = ""

    def clean(self) -> AlertFilters:
        """Unknown values filter nothing rather than fail (a stale link still shows a list)."""
        return AlertFilters(
            status=self.status
            if self.status in AlertStatus.values or self.status == "open"
            else "",
            severity=self.severity if self.severity in Severity.values else "",
            tenant_id=self.tenant_id,
            rule_id=(self.rule_id or "").strip()[:200],
        )


def alerts(principal: Principal, filters: AlertFilters | None = None) -> QuerySet[Alert]:
    """The alerts ``principal`` sees, worst first (severity, then the latest detection)."""
    rows = visible(principal, VIEW_ALERT, Alert.objects.select_related("tenant", "device"))
    f = (filters or AlertFilters()).clean()
    if f.status == "open":
        rows = rows.filter(status__in=[AlertStatus.NEW, AlertStatus.ACKNOWLEDGED])
    elif f.status:
        rows = rows.filter(status=f.status)
    if f.severity:
        rows = rows.filter(severity_rank=SEVERITY_RANK[f.severity])
    if f.tenant_id is not None:
        rows = rows.filter(tenant_id=f.tenant_id)
    if f.rule_id:
        rows = rows.filter(rule_id=f.rule_id)
    return rows.order_by("-severity_rank", "-last_seen", "-id")


def alert_tenants(principal: Principal) -> QuerySet[Tenant]:
    """The tenants the queue's tenant filter offers: those the reader holds the alert
    permission in (their names only; each alert is still checked by its own rule)."""
    ids = sorted({a.tenant_id for a in principal.accesses_with(VIEW_ALERT)})
    return tenancy_queries.tenants(principal).filter(pk__in=ids).order_by("name")


def alert(principal: Principal, alert_id: int, action: str = VIEW_ALERT) -> Alert:
    """One alert the reader may ``action`` (404 out of reach, as if it did not exist)."""
    return get_visible_or_404(
        principal, action, Alert.objects.select_related("tenant", "device"), pk=alert_id
    )


def alert_events(alert: Alert) -> list[AlertEvent]:
    """The alert's sample: its first and latest events, in order."""
    return list(AlertEvent.objects.filter(alert=alert).order_by("ordinal"))


def security_area_id(tenant_id: int) -> int | None:
    """The tenant's security monitoring service area (None when it has none)."""
    return (
        ServiceArea.objects.filter(tenant_id=tenant_id, key=SECURITY_AREA_KEY)
        .values_list("pk", flat=True)
        .first()
    )


def alerts_tenant(principal: Principal, tenant_id: int, action: str = VIEW_ALERT) -> Tenant:
    """The tenant whose alert pages the reader opens: one it may ``action`` in through its
    own IT, or through an engagement covering the tenant's security monitoring area; any
    other reader gets 404 (a provider engaged for other work does not learn of them)."""
    tenant = tenant_in_reach(principal, tenant_id, action)
    if principal.is_system:
        return tenant
    area_id = security_area_id(tenant.pk)
    for access in principal.accesses_with(action, tenant.pk):
        if access.provider_id is None or (
            area_id is not None and area_id in (access.service_area_ids or ())
        ):
            return tenant
    raise Http404(NOT_FOUND)


def suppressions(principal: Principal, tenant_id: int) -> QuerySet[Suppression]:
    """The tenant's suppressions the reader sees, newest first."""
    return visible(
        principal,
        VIEW_SUPPRESSION,
        Suppression.objects.filter(tenant_id=tenant_id).select_related("created_by", "lifted_by"),
    ).order_by("-created_at", "-id")


def suppression(
    principal: Principal, suppression_id: int, action: str = VIEW_SUPPRESSION
) -> Suppression:
    return get_visible_or_404(principal, action, Suppression.objects.all(), pk=suppression_id)


def is_active(suppression: Suppression, now: dt.datetime) -> bool:
    return suppression.lifted_at is None and suppression.expires_at > now


def window_minutes(tenant_id: int) -> int:
    """The tenant's dedup window (minutes)."""
    found = (
        AlertSettings.objects.filter(tenant_id=tenant_id)
        .values_list("dedup_window_minutes", flat=True)
        .first()
    )
    return found or DEFAULT_WINDOW_MINUTES

"""Dashboards: a tenant's (its IT and its providers, each over the tickets it may see) and a
provider's (across every tenant that engaged it). Charts are inline SVG, numbers are in
tables too."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render

from tandem.core.actions import page
from tandem.core.policies import get_visible_or_404
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.reports import queries
from tandem.reports.policies import may_view_provider_dashboard, may_view_tenant_dashboard
from tandem.tenancy.models import Provider, Tenant

METRIC_LABELS = {
    "first_response": "First response",
    "next_update": "Next update",
    "resolution": "Resolution",
}


def hours_minutes(minutes: int) -> str:
    """Logged time as "7h 30m" (days would suggest calendar days)."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours}h {rest}m"
    return f"{hours}h" if hours else f"{rest}m"


def dashboard_tenant(principal: Principal, tenant_id: int) -> Tenant:
    """The tenant, if the principal works tickets there for a party; else not found
    (requesters hold ``servicedesk.view_ticket`` too, for their own tickets only)."""
    tenant = tenant_in_reach(principal, tenant_id)
    if not may_view_tenant_dashboard(principal, tenant.pk):
        raise Http404("no such page")
    return tenant


def dashboard_provider(principal: Principal, provider_id: int) -> Provider:
    """The provider, if the principal works for it with ``servicedesk.view_ticket``."""
    if not may_view_provider_dashboard(principal, provider_id):
        raise Http404("no such page")
    return get_visible_or_404(
        principal, "tenancy.view_provider", Provider.objects.all(), pk=provider_id
    )


def _charts(dashboard: queries.Dashboard, *, with_tenant: bool) -> dict[str, Any]:
    def name(line: queries.PartyLine) -> str:
        return f"{line.tenant_name} · {line.name}" if with_tenant else line.name

    attainment = {
        metric: [
            {
                "label": name(p),
                "value": p.attainment[metric].percent or 0,
                "text": (
                    f"{p.attainment[metric].percent} % "
                    f"({p.attainment[metric].met}/{p.attainment[metric].total})"
                    if p.attainment[metric].total
                    else "no clocks ended"
                ),
                "tone": "ok" if (p.attainment[metric].percent or 0) >= 90 else "danger",
            }
            for p in dashboard.parties
        ]
        for metric in ("first_response", "resolution")
    }
    return {
        "open_bars": [
            {"label": name(p), "value": p.open, "tone": "info"} for p in dashboard.parties if p.open
        ],
        "first_response_bars": attainment["first_response"],
        "resolution_bars": attainment["resolution"],
        "breach_bars": [
            {"label": name(p), "value": sum(p.breaches.values()), "tone": "danger"}
            for p in dashboard.parties
            if p.breaches
        ],
        "backlog_bars": [
            {"label": label, "value": count, "tone": "warn"} for label, count in dashboard.backlog
        ],
        "handoff_bars": [
            {
                "label": f"{h.from_name} → {h.to_name}",
                "value": h.handoffs,
                "text": f"{h.handoffs} ({h.ping_pong} ping-pong)",
                "tone": "danger" if h.ping_pong else "info",
            }
            for h in dashboard.handoffs
        ],
        "time_bars": [
            {
                "label": f"{t.tenant_name} · {t.name}" if with_tenant else t.name,
                "value": t.minutes,
                "text": hours_minutes(t.minutes),
                "tone": "info",
            }
            for t in dashboard.time
        ],
    }


def _render(
    request: TandemRequest, dashboard: queries.Dashboard, *, with_tenant: bool, **context: Any
) -> HttpResponse:
    return render(
        request,
        "reports/dashboard.html",
        {
            "dashboard": dashboard,
            "with_tenant": with_tenant,
            "window_days": queries.WINDOW_DAYS,
            "metric_labels": METRIC_LABELS,
            "time_total": hours_minutes(dashboard.time_minutes),
            "time_rows": [
                (t, hours_minutes(t.minutes), hours_minutes(t.billable_minutes))
                for t in dashboard.time
            ],
            **_charts(dashboard, with_tenant=with_tenant),
            **context,
        },
    )


@page("servicedesk.view_ticket")
def tenant_dashboard(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Open work, SLA attainment, breaches, backlog age and handoffs of one tenant."""
    principal = request.principal
    tenant = dashboard_tenant(principal, tenant_id)
    dashboard = queries.tenant_dashboard(principal, tenant)
    return _render(request, dashboard, with_tenant=False, tenant=tenant, section="dashboard")


@page("servicedesk.view_ticket")
def provider_dashboard(request: TandemRequest, provider_id: int) -> HttpResponse:
    """The same figures for a provider, across every tenant that engaged it."""
    principal = request.principal
    provider = dashboard_provider(principal, provider_id)
    dashboard = queries.provider_dashboard(principal, provider.pk)
    return _render(
        request,
        dashboard,
        with_tenant=True,
        provider=provider,
        provider_id_active=provider.pk,
        section="dashboard",
    )

"""Alerts' pages (decision 0037): the cross-tenant alert queue (the provider running
security monitoring sees every client's alerts in its engagements), a tenant's alerts, an
alert with its events and its actions, and the tenant's suppressions.

Thin handlers: the alert or tenant through the queries (out of reach is 404), one service,
a message, back to the page.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tandem.alerts import queries, services
from tandem.alerts.choices import AlertStatus, Severity
from tandem.alerts.models import Alert
from tandem.alerts.permissions import CHANGE_SUPPRESSION, TRIAGE_ALERT, VIEW_ALERT
from tandem.alerts.policies import VIEW_SUPPRESSION
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pagination import CappedPaginator
from tandem.core.policies import allowed
from tandem.core.request import TandemRequest
from tandem.core.validation import parse_id
from tandem.logs import queries as log_queries
from tandem.tenancy.models import Tenant

PER_PAGE = 50
#: The expiries the suppression forms offer (days); the API takes any moment up to 90 days.
EXPIRY_DAYS = (1, 7, 30, 90)
#: How far around an alert its page looks in the event archive (minutes; the reader picks).
AROUND_MINUTES = (5, 15, 60)
#: The most archived events the alert page shows; the search page has the rest.
AROUND_LIMIT = 50


def _filters(request: TandemRequest, tenant_id: int | None) -> queries.AlertFilters:
    get = request.GET
    return queries.AlertFilters(
        status=get.get("status", "open"),
        severity=get.get("severity", ""),
        tenant_id=tenant_id if tenant_id is not None else parse_id(get.get("tenant", "")),
        rule_id=get.get("rule", ""),
    ).clean()


def _list(request: TandemRequest, tenant: Tenant | None) -> HttpResponse:
    principal = request.principal
    filters = _filters(request, tenant.pk if tenant is not None else None)
    paginator = CappedPaginator(queries.alerts(principal, filters), PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    tenants = [] if tenant is not None else list(queries.alert_tenants(principal))
    return render(
        request,
        "alerts/alert_list.html",
        {
            "tenant": tenant,
            "section": "alerts" if tenant is not None else "alert-queue",
            "alerts": list(page_obj.object_list),
            "page_obj": page_obj,
            "count": paginator.count,
            "count_exact": paginator.count_exact,
            "query_prefix": (query.urlencode() + "&") if query else "",
            "filters": filters,
            "statuses": [("open", "Open (new or acknowledged)"), *AlertStatus.choices, ("", "Any")],
            "severities": Severity.choices,
            "tenants": tenants,
        },
    )


@page(VIEW_ALERT)
def alert_queue(request: TandemRequest) -> HttpResponse:
    """Every alert the reader sees across tenants, worst first: the security monitoring
    provider's queue (and a tenant's IT sees its own)."""
    return _list(request, None)


@page(VIEW_ALERT)
def tenant_alerts(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """One tenant's alerts."""
    return _list(request, queries.alerts_tenant(request.principal, tenant_id))


def _pretty(event: dict[str, Any]) -> str:
    # Rendered as text in <pre> (the template escapes it): an event is attacker-written.
    return json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@page(VIEW_ALERT)
def alert_detail(request: TandemRequest, alert_id: int) -> HttpResponse:
    """One alert: its facts, its first and latest events, and what the reader may do."""
    principal = request.principal
    alert = queries.alert(principal, alert_id)
    events = [(e, _pretty(e.event)) for e in queries.alert_events(alert)]
    return render(
        request,
        "alerts/alert_detail.html",
        {
            "alert": alert,
            "tenant": alert.tenant,
            "section": "alerts",
            "events": events,
            **_around(request, alert),
            "may_triage": alert.is_open and allowed(principal, TRIAGE_ALERT, alert),
            "may_suppress": allowed(principal, CHANGE_SUPPRESSION, alert.tenant),
            "expiry_days": EXPIRY_DAYS,
        },
    )


def _around(request: TandemRequest, alert: Alert) -> dict[str, Any]:
    """The archive's events on the alert's host from N minutes before its first detection
    to N minutes after its latest (for a reader who searches the tenant's events), and the
    event search's query string for the same."""
    try:
        minutes = int(request.GET.get("around", AROUND_MINUTES[1]))
    except ValueError:
        minutes = AROUND_MINUTES[1]
    if minutes not in AROUND_MINUTES:
        minutes = AROUND_MINUTES[1]
    start = alert.first_seen - dt.timedelta(minutes=minutes)
    end = alert.last_seen + dt.timedelta(minutes=minutes, microseconds=1)
    found = log_queries.events_near(
        request.principal, alert.tenant, host=alert.host, start=start, end=end, limit=AROUND_LIMIT
    )
    if found is None:
        return {}
    search = [("range", "custom"), ("from", start.isoformat()), ("to", end.isoformat())]
    search += [("tz", "UTC")] + ([("host", alert.host)] if alert.host else [])
    return {
        "around": found,
        "around_rows": [(f, f"{f.time:%Y-%m-%d %H:%M:%S}", _pretty(f.event)) for f in found.events],
        "around_minutes": minutes,
        "around_choices": AROUND_MINUTES,
        "around_search": urlencode(search),
    }


def _act(request: TandemRequest, alert: Alert, call: Any, done: str) -> HttpResponse:
    try:
        call()
        messages.success(request, done)
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
    except Conflict as exc:
        messages.error(request, str(exc))
    except PermissionDenied:
        messages.error(request, "You may not triage this alert.")
    return redirect("alerts:alert", alert.pk)


@page(TRIAGE_ALERT)
@require_POST
def acknowledge(request: TandemRequest, alert_id: int) -> HttpResponse:
    principal = request.principal
    alert = queries.alert(principal, alert_id)
    return _act(
        request,
        alert,
        lambda: services.acknowledge_alert(actor=principal, alert=alert),
        "Alert acknowledged.",
    )


@page(TRIAGE_ALERT)
@require_POST
def false_positive(request: TandemRequest, alert_id: int) -> HttpResponse:
    principal = request.principal
    alert = queries.alert(principal, alert_id)
    return _act(
        request,
        alert,
        lambda: services.mark_false_positive(
            actor=principal,
            alert=alert,
            reason=request.POST.get("reason", ""),
            resolve_ticket=bool(request.POST.get("resolve_ticket")),
        ),
        "Marked as a false positive.",
    )


@page(TRIAGE_ALERT)
@require_POST
def resolve(request: TandemRequest, alert_id: int) -> HttpResponse:
    principal = request.principal
    alert = queries.alert(principal, alert_id)
    return _act(
        request,
        alert,
        lambda: services.resolve_alert(
            actor=principal,
            alert=alert,
            note=request.POST.get("note", ""),
            resolve_ticket=bool(request.POST.get("resolve_ticket")),
        ),
        "Alert resolved.",
    )


def _expiry(value: str) -> dt.datetime:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            {"expires_in_days": ["Choose how long the suppression lasts."]}
        ) from None
    return timezone.now() + dt.timedelta(days=days)


@page(CHANGE_SUPPRESSION)
@require_POST
def suppress(request: TandemRequest, alert_id: int) -> HttpResponse:
    """Suppress what this alert is (its rule, and its host and key fields when ticked)."""
    principal = request.principal
    alert = queries.alert(principal, alert_id)
    post = request.POST

    def create() -> None:
        services.create_suppression(
            actor=principal,
            tenant=alert.tenant,
            rule_id=alert.rule_id,
            host=alert.host if post.get("same_host") else "",
            key_fields=alert.key_fields if post.get("same_keys") else {},
            reason=post.get("reason", ""),
            expires_at=_expiry(post.get("expires_in_days", "")),
        )

    return _act(request, alert, create, "Suppressed: matching detections are counted, not alerted.")


@page(VIEW_SUPPRESSION)
def suppressions(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's suppressions, active and past, with their counts; the reader who may
    lifts them here."""
    principal = request.principal
    tenant = queries.alerts_tenant(principal, tenant_id)
    now = timezone.now()
    rows = [
        (s, queries.is_active(s, now)) for s in queries.suppressions(principal, tenant.pk)[:500]
    ]
    return render(
        request,
        "alerts/suppressions.html",
        {
            "tenant": tenant,
            "section": "alerts",
            "rows": rows,
            "may_lift": allowed(principal, CHANGE_SUPPRESSION, tenant),
            "window_minutes": queries.window_minutes(tenant.pk),
        },
    )


@page(CHANGE_SUPPRESSION)
@require_POST
def lift(request: TandemRequest, suppression_id: int) -> HttpResponse:
    principal = request.principal
    found = queries.suppression(principal, suppression_id)
    try:
        services.lift_suppression(actor=principal, suppression=found)
        messages.success(request, "Suppression lifted: matching detections alert again.")
    except Conflict as exc:
        messages.error(request, str(exc))
    except PermissionDenied:
        messages.error(request, "You may not lift this suppression.")
    return redirect("alerts:alert-suppressions", found.tenant_id)

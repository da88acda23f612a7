"""The vulnerabilities pages: a tenant's dashboard (counts by severity and status, top
packages, most exposed devices), its findings list with filters, one finding with the
accept-risk and reopen forms.

Thin handlers: the tenant from the path through ``tenant_in_reach`` and findings through
``queries.finding_in_reach`` (out of reach is 404), one query or service, the page.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.core.actions import page
from tandem.core.errors import InvalidInput
from tandem.core.policies import allowed
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.vulnerabilities import exports, queries, services
from tandem.vulnerabilities.choices import FindingStatus, Severity
from tandem.vulnerabilities.permissions import ACCEPT_VULNERABILITY_RISK, VIEW_VULNERABILITIES

PAGE_ROWS = 50


def _say_errors(request: TandemRequest, exc: InvalidInput) -> None:
    messages.error(request, "; ".join(m for ms in exc.field_errors.values() for m in ms))


@page(VIEW_VULNERABILITIES)
def dashboard(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's vulnerability dashboard, over the devices the reader sees."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    board = queries.dashboard(request.principal, tenant.pk)
    return render(
        request,
        "vulnerabilities/dashboard.html",
        {"tenant": tenant, "board": board, "section": "vulnerabilities"},
    )


@page(VIEW_VULNERABILITIES)
def findings(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's findings with filters (open by default), 50 a page."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    filters = {key: request.GET.get(key, "") for key in queries.FILTERS}
    filters["status"] = filters["status"] or FindingStatus.OPEN
    try:
        rows = queries.filtered(queries.findings(request.principal, tenant.pk), filters)
    except InvalidInput as exc:
        _say_errors(request, exc)
        rows = queries.findings(request.principal, tenant.pk).none()
    page_of = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    context = {
        "tenant": tenant,
        "section": "vulnerabilities",
        "page": page_of,
        "filters": filters,
        "statuses": FindingStatus.choices,
        "severities": Severity.choices,
    }
    return render(request, "vulnerabilities/findings.html", context)


@page(VIEW_VULNERABILITIES)
def findings_csv(request: TandemRequest, tenant_id: int) -> HttpResponseBase:
    """The findings list's rows as CSV under the list's filters (every status unless one is
    chosen), streamed; a bad filter is 422 with the reason and no file."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    filters = {key: request.GET.get(key, "") for key in queries.FILTERS}
    try:
        rows = queries.filtered(queries.findings(request.principal, tenant.pk), filters)
    except InvalidInput as exc:
        return HttpResponse(exc.in_words, status=422, content_type="text/plain; charset=utf-8")
    return exports.csv_response(request.principal, rows, tenant.pk)


@page(VIEW_VULNERABILITIES)
def finding(request: TandemRequest, finding_id: int) -> HttpResponse:
    """One finding: the advisory (with its source), the package, the fix and the update
    that brings it, its status; the accept-risk and reopen forms for the tenant's IT."""
    item = queries.finding_in_reach(request.principal, finding_id)
    context = {
        "finding": item,
        "may_decide": allowed(request.principal, ACCEPT_VULNERABILITY_RISK, item),
        "default_expiry": (timezone.now() + dt.timedelta(days=90)).date().isoformat(),
    }
    return render(request, "vulnerabilities/finding.html", context)


@page(ACCEPT_VULNERABILITY_RISK)
@require_POST
def accept_risk(request: TandemRequest, finding_id: int) -> HttpResponse:
    """Accept the finding's risk (the form of the finding page); bad input changes nothing."""
    raw = request.POST.get("expires_on", "").strip()
    try:
        expires_at = (
            dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(23, 59), tzinfo=dt.UTC)
            if raw
            else None
        )
    except ValueError:
        messages.error(request, "The expiry is not a date (YYYY-MM-DD).")
        return redirect("vulnerabilities:vuln-finding", finding_id)
    try:
        services.accept_risk(
            actor=request.principal,
            finding_id=finding_id,
            reason=request.POST.get("reason", ""),
            expires_at=expires_at,
        )
    except InvalidInput as exc:
        _say_errors(request, exc)
    else:
        messages.success(request, "Risk accepted.")
    return redirect("vulnerabilities:vuln-finding", finding_id)


@page(ACCEPT_VULNERABILITY_RISK)
@require_POST
def reopen(request: TandemRequest, finding_id: int) -> HttpResponse:
    """Withdraw the finding's risk acceptance."""
    try:
        services.reopen_finding(actor=request.principal, finding_id=finding_id)
    except InvalidInput as exc:
        _say_errors(request, exc)
    else:
        messages.success(request, "Finding reopened.")
    return redirect("vulnerabilities:vuln-finding", finding_id)

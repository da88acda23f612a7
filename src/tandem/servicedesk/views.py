"""The responsibility matrix page: rows, coverage and what it leaves uncovered this week.

Handlers are thin: look the tenant up through the queries (out of reach is 404), check the
action, parse the form, call one service, then redirect or re-render with its errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.principal import Principal
from tandem.servicedesk import queries, services
from tandem.servicedesk.forms import MatrixRowForm
from tandem.servicedesk.models import ResponsibilityRow
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import AssetGroup, Site, Tenant

FINDING_KINDS = {
    "no_responsible": "Gap",
    "overlap": "Overlap",
    "uncovered": "Uncovered hours",
    "no_coverage": "No service hours",
    "not_engaged": "Not engaged",
}


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _tenant_for(principal: Principal, tenant_id: int, action: str) -> Tenant:
    """The tenant, if the principal may see it and may ``action`` in it; else not found."""
    tenant = tenancy_queries.tenant(principal, tenant_id)
    if not policies.allowed(principal, action, tenant):
        raise Http404("no such page")
    return tenant


# --- The responsibility matrix -----------------------------------------------------------------


def _row_form(principal: Principal, tenant: Tenant, data: Any = None) -> MatrixRowForm:
    return MatrixRowForm(
        data,
        service_areas=queries.matrix_areas(principal, tenant.pk).filter(is_active=True),
        sites=policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        asset_groups=policies.visible(
            principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant.pk)
        ),
        parties=ticket_queries.parties(principal, tenant.pk),
    )


def _render_matrix(
    request: HttpRequest,
    principal: Principal,
    tenant: Tenant,
    *,
    row_form: MatrixRowForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """Rows, coverage and findings as the principal may read them (``queries.matrix_view``,
    which the matrix API shows too)."""
    view = queries.matrix_view(principal, tenant)
    may_change = policies.allowed(principal, "servicedesk.change_matrix", tenant)
    return render(
        request,
        "servicedesk/matrix.html",
        {
            "tenant": tenant,
            "rows": view.rows,
            "coverage": view.coverage,
            "findings": [
                {"kind": FINDING_KINDS.get(f.kind, f.kind), "message": f.message}
                for f in view.findings
            ],
            "may_change": may_change,
            "row_form": (row_form or _row_form(principal, tenant)) if may_change else None,
            "section": "matrix",
        },
        status=status,
    )


@page("servicedesk.view_matrix")
def matrix(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Who is Responsible, Accountable, Consulted and Informed for what, who is on duty
    when, and what that leaves to chance this week."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.view_matrix")
    return _render_matrix(request, principal, tenant)


@page("servicedesk.change_matrix")
@require_POST
def matrix_row_create(request: HttpRequest, tenant_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.change_matrix")
    form = _row_form(principal, tenant, request.POST)
    row, status = submit_form(
        request,
        form,
        lambda data: services.add_matrix_row(actor=principal, tenant=tenant, **form.arguments()),
    )
    if row is not None:
        messages.success(
            request, f"{row.service_area.name}: {row.responsible.name} is now responsible."
        )
        return redirect("servicedesk:matrix", tenant.pk)
    return _render_matrix(request, principal, tenant, row_form=form, status=status)


@page("servicedesk.change_matrix")
@require_POST
def matrix_row_remove(request: HttpRequest, tenant_id: int, matrix_row_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.change_matrix")
    row = (
        ResponsibilityRow.objects.filter(tenant_id=tenant.pk, pk=matrix_row_id)
        .select_related("service_area", "responsible")
        .first()
    )
    if row is None:
        raise Http404("no such row")
    label = f"{row.service_area.name} → {row.responsible.name}"
    try:
        services.remove_matrix_row(actor=principal, row=row)
        messages.success(request, f"The row “{label}” is removed.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("servicedesk:matrix", tenant.pk)

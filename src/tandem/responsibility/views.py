"""The responsibility matrix page (rows, coverage and what they leave uncovered this week)
and the coverage pages edited from it.

Handlers are thin: the tenant from the path through ``tenant_in_reach`` (out of reach is
404), the action checked, the form parsed, one service called, then a redirect or the form
again with its errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.responsibility import queries, services
from tandem.responsibility.apps import CHANGE_MATRIX, VIEW_MATRIX
from tandem.responsibility.forms import CoverageForm, MatrixRowForm
from tandem.responsibility.models import Coverage
from tandem.responsibility.policies import visible_asset_groups, visible_sites
from tandem.tenancy.models import Tenant

FINDING_KINDS = {
    "no_responsible": "Gap",
    "overlap": "Overlap",
    "uncovered": "Uncovered hours",
    "no_coverage": "No service hours",
    "not_engaged": "Not engaged",
}
#: The coverage pages sit under the desk's configuration addresses and its menu entry.
COVERAGE_SECTION = "desk-config"


# --- The responsibility matrix -----------------------------------------------------------------


def _row_form(principal: Principal, tenant: Tenant, data: Any = None) -> MatrixRowForm:
    return MatrixRowForm(
        data,
        service_areas=queries.matrix_areas(principal, tenant.pk).filter(is_active=True),
        sites=visible_sites(principal, tenant.pk),
        asset_groups=visible_asset_groups(principal, tenant.pk),
        parties=queries.parties(principal, tenant.pk),
    )


def _render_matrix(
    request: TandemRequest,
    tenant: Tenant,
    *,
    row_form: MatrixRowForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """Rows, coverage and findings as the principal may read them (``queries.matrix_view``,
    which the matrix API shows too)."""
    principal = request.principal
    view = queries.matrix_view(principal, tenant)
    may_change = policies.allowed(principal, CHANGE_MATRIX, tenant)
    return render(
        request,
        "responsibility/matrix.html",
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


@page(VIEW_MATRIX)
def matrix(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Who is Responsible, Accountable, Consulted and Informed for what, who is on duty
    when, and what that leaves to chance this week."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_MATRIX)
    return _render_matrix(request, tenant)


@page(CHANGE_MATRIX)
@require_POST
def matrix_row_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_MATRIX)
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
        return redirect("responsibility:matrix", tenant.pk)
    return _render_matrix(request, tenant, row_form=form, status=status)


@page(CHANGE_MATRIX)
@require_POST
def matrix_row_remove(request: TandemRequest, tenant_id: int, matrix_row_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_MATRIX)
    row = queries.row_in(tenant, matrix_row_id)
    if row is None:
        raise Http404("no such row")
    label = f"{row.service_area.name} → {row.responsible.name}"
    try:
        services.remove_matrix_row(actor=principal, row=row)
        messages.success(request, f"The row “{label}” is removed.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("responsibility:matrix", tenant.pk)


# --- Coverage (listed on the matrix page) ------------------------------------------------------


def _party_choices(principal: Principal, tenant: Tenant) -> list[tuple[int, str]]:
    return list(queries.parties(principal, tenant.pk).order_by("name").values_list("pk", "name"))


def _area_choices(principal: Principal, tenant: Tenant) -> list[tuple[int, str]]:
    areas = queries.matrix_areas(principal, tenant.pk).filter(is_active=True).order_by("name")
    return list(areas.values_list("pk", "name"))


def _coverage_form(principal: Principal, tenant: Tenant, data: Any, **kwargs: Any) -> CoverageForm:
    return CoverageForm(
        data,
        calendars=queries.calendar_choices(tenant),
        areas=_area_choices(principal, tenant),
        priorities=queries.priority_count(tenant.pk),
        **kwargs,
    )


def _matrix_url(tenant: Tenant) -> str:
    return reverse("responsibility:matrix", args=[tenant.pk]) + "#coverage"


def _coverage_page(
    request: TandemRequest,
    *,
    tenant: Tenant,
    form: CoverageForm,
    write: Callable[[dict[str, Any]], Coverage],
    message: Callable[[Coverage], str],
    entry: Coverage | None = None,
) -> HttpResponse:
    """GET shows the form; a valid POST calls ``write`` (one service) and goes back to the
    matrix with a message; a rejected one shows the form again with its errors (422)."""
    saved, status = submit_form(request, form, write)
    if saved is not None:
        messages.success(request, message(saved))
        return redirect(_matrix_url(tenant))
    return render(
        request,
        "responsibility/coverage_form.html",
        {"tenant": tenant, "form": form, "section": COVERAGE_SECTION, "entry": entry},
        status=status,
    )


@page(CHANGE_MATRIX)
@require_http_methods(["GET", "POST"])
def coverage_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_MATRIX)
    form = _coverage_form(
        principal,
        tenant,
        request.POST or None,
        parties=_party_choices(principal, tenant),
        initial={"max_priority": queries.priority_count(tenant.pk)},
    )

    def write(data: dict[str, Any]) -> Coverage:
        arguments = form.arguments()
        party = queries.party_in(tenant, arguments.pop("party_id"))
        return services.add_coverage(actor=principal, tenant=tenant, party=party, **arguments)

    return _coverage_page(
        request,
        tenant=tenant,
        form=form,
        write=write,
        message=lambda entry: f"{entry.party.name} is on duty on “{entry.calendar.name}”.",
    )


@page(CHANGE_MATRIX)
@require_http_methods(["GET", "POST"])
def coverage_edit(request: TandemRequest, tenant_id: int, coverage_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_MATRIX)
    entry = queries.coverage_for(principal, coverage_id, tenant.pk)
    form = _coverage_form(
        principal,
        tenant,
        request.POST or None,
        parties=None,
        initial={
            "calendar_id": entry.calendar_id,
            "service_area_id": entry.service_area_id,
            "max_priority": entry.max_priority,
        },
    )
    return _coverage_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_coverage(
            actor=principal, coverage=entry, **form.arguments()
        ),
        message=lambda saved: f"Coverage of {saved.party.name} is saved.",
        entry=entry,
    )


@page(CHANGE_MATRIX)
@require_POST
def coverage_remove(request: TandemRequest, tenant_id: int, coverage_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_MATRIX)
    entry = queries.coverage_for(principal, coverage_id, tenant.pk)
    label = f"{entry.party.name} on “{entry.calendar.name}”"
    services.remove_coverage(actor=principal, coverage=entry)
    messages.success(request, f"The coverage of {label} is removed.")
    return redirect(_matrix_url(tenant))

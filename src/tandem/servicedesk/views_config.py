"""Coverage pages, edited from the responsibility matrix page (they reuse the desk
configuration's form page). Every form declares ``servicedesk.change_matrix``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tandem.core.actions import page
from tandem.core.principal import Principal
from tandem.servicedesk import services, services_config
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config.queries import CHANGE
from tandem.servicedesk.config.views import (
    _area_choices,
    _calendar_choices,
    _form_page,
    _party_choices,
)
from tandem.servicedesk.forms_config import CoverageForm
from tandem.servicedesk.models import Coverage
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.tenancy.models import Tenant


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


# --- Coverage (listed on the responsibility matrix page) --------------------------------------


def _coverage_form(principal: Principal, tenant: Tenant, data: Any, **kwargs: Any) -> CoverageForm:
    return CoverageForm(
        data,
        calendars=_calendar_choices(tenant),
        areas=_area_choices(principal, tenant),
        priorities=len(desk_settings(tenant.pk).priority_matrix["priorities"]),
        **kwargs,
    )


def _matrix_url(tenant: Tenant) -> str:
    return reverse("servicedesk:matrix", args=[tenant.pk]) + "#coverage"


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def coverage_create(request: HttpRequest, tenant_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = config_queries.config_tenant(principal, tenant_id, CHANGE)
    form = _coverage_form(
        principal,
        tenant,
        request.POST or None,
        parties=_party_choices(principal, tenant),
        initial={"max_priority": len(desk_settings(tenant.pk).priority_matrix["priorities"])},
    )

    def write(data: dict[str, Any]) -> Coverage:
        arguments = form.arguments()
        party = config_queries.party_in(tenant, arguments.pop("party_id"))
        return services.add_coverage(actor=principal, tenant=tenant, party=party, **arguments)

    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=write,
        done=_matrix_url(tenant),
        message=lambda entry: f"{entry.party.name} is on duty on “{entry.calendar.name}”.",
        template="servicedesk/config_coverage_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def coverage_edit(request: HttpRequest, tenant_id: int, coverage_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = config_queries.config_tenant(principal, tenant_id, CHANGE)
    entry = services_config.coverage_for(principal, coverage_id, tenant.pk)
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
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services_config.update_coverage(
            actor=principal, coverage=entry, **form.arguments()
        ),
        done=_matrix_url(tenant),
        message=lambda saved: f"Coverage of {saved.party.name} is saved.",
        template="servicedesk/config_coverage_form.html",
        context={"entry": entry},
    )


@page(CHANGE)
@require_POST
def coverage_remove(request: HttpRequest, tenant_id: int, coverage_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = config_queries.config_tenant(principal, tenant_id, CHANGE)
    entry = services_config.coverage_for(principal, coverage_id, tenant.pk)
    label = f"{entry.party.name} on “{entry.calendar.name}”"
    services_config.remove_coverage(actor=principal, coverage=entry)
    messages.success(request, f"The coverage of {label} is removed.")
    return redirect(_matrix_url(tenant))

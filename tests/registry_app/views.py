from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tandem.core.actions import page
from tests.registry_app.apps import VIEW_PROBE
from tests.registry_app.queries import probed_tenant


@page(VIEW_PROBE)
def probe(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = probed_tenant(request.principal, tenant_id)  # type: ignore[attr-defined]
    return render(request, "registry_app/probe.html", {"tenant": tenant})

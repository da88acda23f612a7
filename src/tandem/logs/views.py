"""The logs pages: a tenant's ingest sources with their counters (managed through the API)."""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from tandem.core.actions import page
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.logs import queries
from tandem.logs.permissions import MANAGE_SOURCES
from tandem.logs.policies import may_manage_in


@page(MANAGE_SOURCES)
def source_list(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's ingest sources: kind, token prefix, limits, accepted and refused counts.
    Out of reach is 404 whatever the method (the tenant is checked first)."""
    tenant = tenant_in_reach(request.principal, tenant_id, MANAGE_SOURCES)
    if not may_manage_in(request.principal, tenant.pk):
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = {
        "tenant": tenant,
        "sources": queries.sources(request.principal, tenant.pk),
        "ingest_url": request.build_absolute_uri("/ingest/v1/events"),
    }
    return render(request, "logs/ingestsource_list.html", context)

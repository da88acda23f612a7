"""The audit log of one tenant: filtered, paginated, verifiable and exportable."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from tandem.audit import queries, references
from tandem.audit.forms import AuditFilterForm
from tandem.audit.services import verify_chains
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.request import TandemRequest, tenant_in_reach

PAGE_SIZE = 50


@page("audit.view_auditentry")
def log(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Who did what, when, through which party; owners and auditors also see the chain state.

    A provider sees only what its own party did in the tenant.
    """
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "audit.view_auditentry")
    visible = queries.entries(principal).filter(tenant_id=tenant.pk)
    form = AuditFilterForm(
        request.GET or None,
        actions=list(visible.order_by("action").values_list("action", flat=True).distinct()),
        actors=list(
            visible.order_by("actor_label").values_list("actor_label", flat=True).distinct()
        ),
    )
    rows = visible.select_related("party", "actor")
    filters = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
        if "action" in filters:
            rows = rows.filter(action=filters["action"])
        if "actor" in filters:
            rows = rows.filter(actor_label=filters["actor"])
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    chain_state: dict[str, Any] = {"checked": False, "report": None}
    if policies.allowed(principal, "audit.verify_chain", tenant):
        reports = verify_chains(tenant_id=tenant.pk)
        chain_state = {"checked": True, "report": reports[0] if reports else None}
    context = {
        "tenant": tenant,
        "form": form,
        "page_obj": page_obj,
        "entries": references.readable(principal, tenant, list(page_obj.object_list)),
        "query_prefix": urlencode(filters) + "&" if filters else "",
        "export_query": urlencode(filters),
        "chain_state": chain_state,
        "section": "audit",
    }
    htmx = request.htmx
    partial = bool(htmx) and not htmx.history_restore_request
    template = "audit/_auditentry_results.html" if partial else "audit/auditentry_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page("audit.view_auditentry")
def export(request: TandemRequest, tenant_id: int) -> StreamingHttpResponse:
    """Every entry the principal may read in this tenant, oldest first, as JSON Lines."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "audit.view_auditentry")
    rows = queries.entries(principal).filter(tenant_id=tenant.pk)
    action = request.GET.get("action")
    actor = request.GET.get("actor")
    if action:
        rows = rows.filter(action=action[:80])
    if actor:
        rows = rows.filter(actor_label=actor[:200])
    response = StreamingHttpResponse(
        queries.as_json_lines(rows.order_by("chain_key", "seq")),
        content_type="application/x-ndjson",
    )
    response["Content-Disposition"] = f'attachment; filename="tandem-audit-{tenant.slug}.jsonl"'
    return response

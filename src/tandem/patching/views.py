"""Patching's pages: a tenant's dashboard (missing updates by severity and device), its
policies (with where each effective setting comes from), windows and rings, a reader's
approval queue across its tenants, and the device page's approve/reject form.

Thin handlers: the tenant from the path through ``tenant_in_reach`` (out of reach is 404),
one query or service, the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.assets import queries as device_queries
from tandem.core.actions import page
from tandem.core.errors import InvalidInput
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.patching import inheritance, queries, services
from tandem.patching.permissions import APPROVE_UPDATES, VIEW_PATCHING
from tandem.patching.policies import VIEW_PATCH_POLICY


@page(VIEW_PATCHING)
def dashboard(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Missing updates of the tenant's devices the reader sees, by severity and device."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_PATCHING)
    context = {"tenant": tenant, "board": queries.dashboard(principal, tenant.pk)}
    return render(request, "patching/dashboard.html", context)


@page(VIEW_PATCH_POLICY)
def policies(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's policies the reader sees, its windows (with the next occurrence) and
    rings; the tenant-level policy's effective values with their sources."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_PATCH_POLICY)
    rows = list(queries.visible_policies(principal, tenant.pk))
    tenant_layers = [queries.layer_of(p) for p in rows if p.level == "tenant"]
    effective = inheritance.resolve(tenant_layers)
    context = {
        "tenant": tenant,
        "policies": rows,
        "effective": [
            (name, effective.values[name], effective.sources[name]) for name in inheritance.SETTINGS
        ],
        "excluded": effective.excluded_packages,
        "windows": queries.window_rows(tenant.pk),
        "rings": list(queries.rings(tenant.pk)),
    }
    return render(request, "patching/policies.html", context)


@page(APPROVE_UPDATES)
def approvals(request: TandemRequest) -> HttpResponse:
    """Updates awaiting approval by the reader's party, across every tenant it serves."""
    items = queries.approval_queue(request.principal)
    return render(request, "patching/approvals.html", {"items": items})


@page(APPROVE_UPDATES)
@require_POST
def device_decide(request: TandemRequest, device_id: int) -> HttpResponse:
    """Approve or reject the selected updates of a device (the device page's form); the
    service refuses anyone the responsibility matrix does not name."""
    principal = request.principal
    device = device_queries.device(principal, device_id)
    try:
        entry_ids = [int(v) for v in request.POST.getlist("entry_ids")]
        services.decide_updates(
            actor=principal,
            device=device,
            entry_ids=entry_ids,
            approve=request.POST.get("decision") != "reject",
            reason=request.POST.get("reason", "").strip(),
        )
        messages.success(request, f"{len(entry_ids)} update(s) decided.")
    except ValueError:
        messages.error(request, "Select updates by their checkboxes.")
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not decide these updates.")
    return redirect("assets:device", device.pk)

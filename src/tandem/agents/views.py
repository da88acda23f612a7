"""The agents' pages: a tenant's enrolment tokens (create, list, revoke; the secret shown
once), and a device's inventory (software, pending updates, history).

Handlers are thin: the tenant from the path through ``tenant_in_reach`` (out of reach is
404), the form parsed, one service or query called, then the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.agents import queries, services
from tandem.agents.forms import EnrolmentTokenForm
from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.assets.apps import VIEW_DEVICE
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.policies import allowed, visible
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.tenancy.models import AssetGroup, Site

#: Rows a device page shows per list (the API pages through all of them).
PAGE_ROWS = 2000


@page(MANAGE_ENROLMENT)
@require_http_methods(["GET", "POST"])
def token_list(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's enrolment tokens, and the form that makes one (its secret shown once)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, MANAGE_ENROLMENT)
    sites = visible(principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk))
    groups = visible(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant.pk)
    )
    form = EnrolmentTokenForm(
        request.POST if request.method == "POST" else None,
        sites=list(sites.order_by("name").values_list("pk", "name")),
        asset_groups=list(groups.order_by("name").values_list("pk", "name")),
    )

    def create(data: dict[str, Any]) -> tuple[Any, str]:
        return services.create_enrolment_token(
            actor=principal,
            tenant=tenant,
            name=data["name"],
            expires_at=timezone.now() + dt.timedelta(days=data["expires_in_days"]),
            max_uses=data["max_uses"],
            site=sites.filter(pk=data["site"]).first() if data["site"] else None,
            asset_group=groups.filter(pk=data["asset_group"]).first()
            if data["asset_group"]
            else None,
        )

    created, status = submit_form(request, form, create)
    context = {
        "tenant": tenant,
        "tokens": queries.tokens(principal, tenant.pk),
        "form": form
        if created is None
        else EnrolmentTokenForm(
            sites=list(sites.order_by("name").values_list("pk", "name")),
            asset_groups=list(groups.order_by("name").values_list("pk", "name")),
        ),
        "new_token": created[0] if created else None,
        "new_secret": created[1] if created else None,
        "now": timezone.now(),
        "server_url": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "agents/enrolmenttoken_list.html", context, status=status)


@page(MANAGE_ENROLMENT)
@require_POST
def token_revoke(request: TandemRequest, tenant_id: int, enrolment_token_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, MANAGE_ENROLMENT)
    token = queries.token_in_reach(principal, tenant.pk, enrolment_token_id)
    try:
        services.revoke_enrolment_token(actor=principal, token=token)
        messages.success(request, f"The enrolment token “{token.name}” is revoked.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("agents:token-list", tenant.pk)


@page(VIEW_DEVICE)
def device_inventory(request: TandemRequest, tenant_id: int, device_id: int) -> HttpResponse:
    """What a device's agent reported: software, pending updates and the change history."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_DEVICE)
    device = queries.device_in_reach(principal, device_id, tenant.pk)
    software = list(queries.software(device)[:PAGE_ROWS])
    updates = list(queries.pending_updates(device)[:PAGE_ROWS])
    context = {
        "tenant": tenant,
        "device": device,
        "state": queries.agent_state(device),
        "software": software,
        "software_count": queries.software(device).count(),
        "updates": updates,
        "security_count": sum(1 for u in updates if u.security),
        "history": list(queries.history(device)[: queries.HISTORY_LIMIT]),
        "may_manage": allowed(principal, MANAGE_ENROLMENT, device),
    }
    return render(request, "agents/device_inventory.html", context)

"""Device pages: a tenant's devices, every device the reader sees across tenants (a
provider's client devices), one device with the sections other apps add, its changes and
its retirement.

Handlers are thin: the tenant or device through the queries (404 out of reach), the form,
one service, render or redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.assets import offline_services, queries, services
from tandem.assets.apps import CHANGE_DEVICE, VIEW_DEVICE
from tandem.assets.forms import DeviceFilterForm, DeviceForm, OfflinePolicyForm
from tandem.assets.models import Device, OfflineAlertPolicy
from tandem.assets.policies import PROTECT_DEVICE, SET_OFFLINE_ALERTS
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pages import INVALID, submit_form
from tandem.core.pagination import CappedPaginator
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.core.validation import parse_id
from tandem.tenancy.queries import service_areas

PER_PAGE = 50
#: The device page's sections that other apps fill (the agents app: inventory and pending
#: updates); until one does, each shows what it will hold.
PLACEHOLDERS = (
    (
        "inventory",
        "Inventory",
        "No inventory reported yet: it appears once the device's agent reports.",
    ),
    (
        "updates",
        "Pending updates",
        "No update information yet: it appears once the device's agent reports.",
    ),
)


def _rows(devices: list[Device]) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {
            "device": device,
            "url": reverse("assets:device", args=[device.pk]),
            "state": queries.connectivity(device, now),
        }
        for device in devices
    ]


def _list_page(
    request: TandemRequest,
    *,
    form: DeviceFilterForm,
    tenant_id: int | None,
    context: dict[str, Any],
) -> HttpResponse:
    rows = queries.search(request.principal, form.filters(tenant_id))
    paginator = CappedPaginator(rows, PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "assets/device_list.html",
        {
            "form": form,
            "rows": _rows(list(page_obj.object_list)),
            "page_obj": page_obj,
            "count": paginator.count,
            "count_exact": paginator.count_exact,
            "query_prefix": (query.urlencode() + "&") if query else "",
            "offline_minutes": queries.offline_after().total_seconds() // 60,
            **context,
        },
    )


@page(VIEW_DEVICE)
def devices(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """One tenant's devices, searched and filtered."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_DEVICE)
    form = DeviceFilterForm(
        request.GET,
        sites=queries.sites(principal, tenant.pk),
        groups=queries.asset_groups(principal, tenant.pk),
    )
    return _list_page(
        request,
        form=form,
        tenant_id=tenant.pk,
        context={
            "tenant": tenant,
            "section": "devices",
            "cross_tenant": False,
            "may_set_offline_alerts": policies.allowed(principal, SET_OFFLINE_ALERTS, tenant),
        },
    )


@page(VIEW_DEVICE)
def all_devices(request: TandemRequest) -> HttpResponse:
    """Every device the reader may see, across tenants: a provider's client devices."""
    form = DeviceFilterForm(request.GET)
    return _list_page(
        request, form=form, tenant_id=None, context={"section": "all-devices", "cross_tenant": True}
    )


def _sections(request: TandemRequest, device: Device) -> list[dict[str, Any]]:
    """The sections other apps add, with a placeholder for each expected one not added."""
    given = queries.device_sections(request.principal, device)
    keys = {section.key for section in given}
    sections: list[dict[str, Any]] = [
        {"key": key, "title": title, "template": None, "context": {}, "empty": text}
        for key, title, text in PLACEHOLDERS
        if key not in keys
    ]
    sections += [
        {"key": s.key, "title": s.title, "template": s.template, "context": s.context, "empty": ""}
        for s in given
    ]
    return sections


@page(VIEW_DEVICE)
def device_detail(request: TandemRequest, device_id: int) -> HttpResponse:
    """One device: identity, placement, protection, state, and the other apps' sections."""
    principal = request.principal
    device = queries.device(principal, device_id)
    return render(
        request,
        "assets/device_detail.html",
        {
            "device": device,
            "tenant": device.tenant,
            "section": "devices",
            "state": queries.connectivity(device),
            "sections": _sections(request, device),
            "may_change": device.status == "active"
            and policies.allowed(principal, CHANGE_DEVICE, device),
        },
    )


def _changeable(request: TandemRequest, device_id: int) -> Device:
    """A device the reader sees and may change (404 otherwise, as for any unseen one)."""
    principal = request.principal
    device = queries.device(principal, device_id)
    if not policies.allowed(principal, CHANGE_DEVICE, device):
        raise Http404("no such page")
    return device


@page(CHANGE_DEVICE)
@require_http_methods(["GET", "POST"])
def device_edit(request: TandemRequest, device_id: int) -> HttpResponse:
    """Rename, place or (the tenant's own IT) protect a device."""
    principal = request.principal
    device = _changeable(request, device_id)
    form = DeviceForm(
        request.POST or None,
        initial={
            "name": device.name,
            "site_id": device.site_id or "",
            "asset_group_id": device.asset_group_id or "",
            "protected": device.protected,
        },
        sites=queries.sites(principal, device.tenant_id),
        groups=queries.asset_groups(principal, device.tenant_id),
        may_protect=policies.allowed(principal, PROTECT_DEVICE, device),
    )
    saved, status = submit_form(
        request,
        form,
        lambda data: services.update_device(actor=principal, device=device, **form.arguments()),
    )
    if saved is not None:
        messages.success(request, f"Device “{saved.name}” is saved.")
        return redirect("assets:device", saved.pk)
    if request.method == "POST":
        device.refresh_from_db()
    return render(
        request,
        "assets/device_form.html",
        {"device": device, "tenant": device.tenant, "section": "devices", "form": form},
        status=status,
    )


@page(CHANGE_DEVICE)
@require_http_methods(["GET", "POST"])
def device_retire(request: TandemRequest, device_id: int) -> HttpResponse:
    """Retire a device: a confirmation page, then the retirement on its POST."""
    principal = request.principal
    device = _changeable(request, device_id)
    error = ""
    status = 200
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error, status = "Tick the box to confirm the retirement.", INVALID
        else:
            try:
                services.retire_device(actor=principal, device=device)
            except InvalidInput as exc:
                error, status = exc.in_words, INVALID
            else:
                messages.success(request, f"Device “{device.name}” is retired.")
                return redirect("assets:device", device.pk)
    return render(
        request,
        "assets/device_retire.html",
        {"device": device, "tenant": device.tenant, "section": "devices", "error": error},
        status=status,
    )


def _policy_initial(policy: OfflineAlertPolicy | None, site_id: int | None) -> dict[str, Any]:
    if policy is None:
        return {
            "site": site_id or "",
            "minutes": 60,
            "devices": "all",
            "impact": 2,
            "urgency": 2,
            "resolve_on_return": True,
        }
    return {
        "site": policy.site_id or "",
        "enabled": policy.enabled,
        "minutes": policy.minutes,
        "devices": policy.devices,
        "asset_group": policy.asset_group_id or "",
        "service_area": policy.service_area_id or "",
        "impact": policy.impact,
        "urgency": policy.urgency,
        "resolve_on_return": policy.resolve_on_return,
    }


@page(SET_OFFLINE_ALERTS)
@require_http_methods(["GET", "POST"])
def offline_alerts(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's offline alert policy and its site overrides (the tenant's own IT):
    ``?site=`` picks the one to edit; a POST with ``remove`` removes a site's override."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, SET_OFFLINE_ALERTS)
    policies_ = list(queries.offline_policies(principal, tenant.pk))
    if request.method == "POST" and "remove" in request.POST:
        remove_id = parse_id(request.POST.get("remove") or None)
        found = next((p for p in policies_ if p.pk == remove_id), None)
        if found is None:
            raise Http404("no such policy")
        try:
            offline_services.remove_offline_policy(actor=principal, policy=found)
        except (InvalidInput, Conflict) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{found.site} follows the tenant's policy again.")
        return redirect("assets:offline-alerts", tenant.pk)
    site_id = parse_id(request.GET.get("site") or None)
    current = next((p for p in policies_ if p.site_id == site_id), None)
    form = OfflinePolicyForm(
        request.POST or None,
        initial=_policy_initial(current, site_id),
        sites=queries.sites(principal, tenant.pk),
        groups=queries.asset_groups(principal, tenant.pk),
        areas=service_areas(principal, tenant.pk),
    )
    saved, status = submit_form(
        request,
        form,
        lambda data: offline_services.set_offline_policy(
            actor=principal, tenant=tenant, **form.arguments()
        ),
    )
    if saved is not None:
        messages.success(request, "The offline alert policy is saved.")
        return redirect("assets:offline-alerts", tenant.pk)
    return render(
        request,
        "assets/offline_alerts.html",
        {
            "tenant": tenant,
            "section": "devices",
            "form": form,
            "policies": policies_,
            "editing": current,
        },
        status=status,
    )

"""Patching's pages: a tenant's dashboard (missing updates by severity and device), its
policies (with where each effective setting comes from), windows and rings, a reader's
approval queue across its tenants, and the device page's approve/reject form.

Thin handlers: the tenant from the path through ``tenant_in_reach`` (out of reach is 404),
one query or service, the page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tandem.assets import queries as device_queries
from tandem.core.actions import page
from tandem.core.errors import InvalidInput
from tandem.core.pages import submit_form
from tandem.core.policies import allowed, visible
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.patching import compliance, exports, inheritance, queries, services, snapshot_queries
from tandem.patching.forms import PolicyForm, RingForm, WindowForm
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY, VIEW_PATCHING
from tandem.patching.policies import VIEW_PATCH_POLICY
from tandem.tenancy.models import AssetGroup, Tenant

#: The tenant navigation's link these pages belong to (``PatchingConfig.tenant_sections``).
SECTION = "patching"


@page(VIEW_PATCHING)
def dashboard(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Missing updates of the tenant's devices the reader sees, by severity and device."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_PATCHING)
    context = {
        "tenant": tenant,
        "section": SECTION,
        "board": queries.dashboard(principal, tenant.pk),
    }
    return render(request, "patching/dashboard.html", context)


@page(VIEW_PATCH_POLICY)
def policies(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's policies the reader sees, its windows (with the next occurrence) and
    rings; the tenant-level policy's effective values with their sources; for the tenant's
    IT, the forms that add a window or a ring."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCH_POLICY)
    return _policies_page(request, tenant)


def _policies_page(
    request: TandemRequest,
    tenant: Tenant,
    *,
    window_form: WindowForm | None = None,
    ring_form: RingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    principal = request.principal
    rows = list(queries.visible_policies(principal, tenant.pk))
    tenant_layers = [queries.layer_of(p) for p in rows if p.level == "tenant"]
    effective = inheritance.resolve(tenant_layers)
    context = {
        "tenant": tenant,
        "section": SECTION,
        "policies": rows,
        "effective": [
            (name, effective.values[name], effective.sources[name]) for name in inheritance.SETTINGS
        ],
        "excluded": effective.excluded_packages,
        "windows": queries.window_rows(tenant.pk),
        "rings": list(queries.rings(tenant.pk)),
        "may_change": allowed(principal, CHANGE_PATCH_POLICY, tenant),
        "levels": queries.policy_levels(principal, tenant),
        "window_form": window_form or WindowForm(prefix="window"),
        "ring_form": ring_form or RingForm(prefix="ring"),
    }
    return render(request, "patching/policies.html", context, status=status)


@page(CHANGE_PATCH_POLICY)
def policy_edit(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Set one level's policy (``?level=site&target_id=3``; the tenant level by default):
    the form shows the stored values, empty fields inherit. Bad input changes nothing and
    the form comes back with the reason."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    level = request.GET.get("level", "tenant")
    try:
        target_id = int(request.GET["target_id"]) if request.GET.get("target_id") else None
        targets = queries.policy_target(principal, tenant, level, target_id)
    except (ValueError, InvalidInput) as exc:
        # A target out of reach is as missing as one that never existed.
        raise Http404("No such policy target.") from exc
    stored = queries.policy_at(tenant.pk, targets)
    choices = {
        "rings": [(r.pk, r.name) for r in queries.rings(tenant.pk)],
        "windows": [(w.pk, w.name) for w in queries.windows(tenant.pk)],
    }
    if request.method == "POST":
        form = PolicyForm(request.POST, **choices)
    else:
        initial: dict[str, Any] = {}
        if stored is not None:
            initial = {name: getattr(stored, name) for name in inheritance.SETTINGS}
            initial["excluded_packages"] = "\n".join(stored.excluded_packages or ())
        form = PolicyForm(initial=initial, **choices)
    saved, status = submit_form(
        request,
        form,
        lambda _: services.set_patch_policy(
            actor=principal,
            tenant=tenant,
            level=level,
            settings=form.settings(),
            excluded_packages=form.packages(),
            **targets,
        ),
    )
    if saved is not None:
        messages.success(request, "Policy saved.")
        return redirect("patching:patch-policies", tenant.pk)
    context = {
        "tenant": tenant,
        "section": SECTION,
        "form": form,
        "level": level,
        "target": next(iter(targets.values()), None),
        "stored": stored,
    }
    return render(request, "patching/policy_edit.html", context, status=status)


@page(CHANGE_PATCH_POLICY)
@require_POST
def window_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Add a maintenance window from the policy page's form (422 with the reason if not)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    form = WindowForm(request.POST, prefix="window")
    window, status = submit_form(
        request,
        form,
        lambda data: services.create_maintenance_window(actor=principal, tenant=tenant, **data),
    )
    if window is None:
        return _policies_page(request, tenant, window_form=form, status=status)
    messages.success(request, f"Maintenance window {window.name} added.")
    return redirect("patching:patch-policies", tenant.pk)


@page(CHANGE_PATCH_POLICY)
@require_POST
def ring_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Add a deployment ring from the policy page's form (422 with the reason if not)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    form = RingForm(request.POST, prefix="ring")
    ring, status = submit_form(
        request,
        form,
        lambda data: services.create_patch_ring(actor=principal, tenant=tenant, **data),
    )
    if ring is None:
        return _policies_page(request, tenant, ring_form=form, status=status)
    messages.success(request, f"Ring {ring.name} added.")
    return redirect("patching:patch-policies", tenant.pk)


def _delete_from_policies_page(
    request: TandemRequest, tenant: Tenant, delete: Any, what: str
) -> HttpResponse:
    """Run a window or ring deletion; refused (a policy uses it): the page again, 422, with
    the reason."""
    try:
        delete()
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
        return _policies_page(request, tenant, status=422)
    messages.success(request, f"{what} deleted.")
    return redirect("patching:patch-policies", tenant.pk)


@page(CHANGE_PATCH_POLICY)
@require_POST
def window_delete(request: TandemRequest, tenant_id: int, window_id: int) -> HttpResponse:
    """Delete a maintenance window from the policy page (refused while a policy uses it)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    window = get_object_or_404(queries.windows(tenant.pk), pk=window_id)
    return _delete_from_policies_page(
        request,
        tenant,
        lambda: services.delete_maintenance_window(actor=principal, window=window),
        f"Maintenance window {window.name}",
    )


@page(CHANGE_PATCH_POLICY)
@require_POST
def ring_delete(request: TandemRequest, tenant_id: int, ring_id: int) -> HttpResponse:
    """Delete a deployment ring from the policy page (refused while a policy uses it)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    ring = get_object_or_404(queries.rings(tenant.pk), pk=ring_id)
    return _delete_from_policies_page(
        request,
        tenant,
        lambda: services.delete_patch_ring(actor=principal, ring=ring),
        f"Ring {ring.name}",
    )


@page(APPROVE_UPDATES)
def approvals(request: TandemRequest) -> HttpResponse:
    """Updates awaiting approval by the reader's party, across every tenant it serves."""
    items = queries.approval_queue(request.principal)
    return render(
        request, "patching/approvals.html", {"items": items, "section": "patch-approvals"}
    )


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


@page(VIEW_PATCHING)
def compliance_page(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's patch compliance over the devices the reader sees (decision 0033):
    headline figures, bars per site and per responsible party, time to patch per severity,
    the devices failing, and (for the tenant's IT) the preset form. ``?preset=`` shows the
    figures under another preset, to compare (from the same snapshot)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW_PATCHING)
    viewed = _viewed_preset(request)
    found = snapshot_queries.compliance_for_reader(tenant.pk, principal=principal, preset=viewed)
    may_change = allowed(principal, CHANGE_PATCH_POLICY, tenant)
    context = {
        "tenant": tenant,
        "section": SECTION,
        "found": found,
        "overall": found.overall,
        "rule": found.evaluation.rule,
        "site_bars": exports.percent_bars(found.evaluation.by_site),
        "party_bars": exports.percent_bars(found.evaluation.by_party),
        "mttp_bars": exports.duration_bars(found.overall.time_to_patch),
        "failing": found.failing(200),
        "may_change": may_change,
        "presets": compliance.Preset.CHOICES,
        "viewed": viewed,
        "groups": list(
            visible(principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant=tenant))
        )
        if may_change
        else [],
    }
    return render(request, "patching/compliance.html", context)


@page(VIEW_PATCHING)
def compliance_csv(request: TandemRequest, tenant_id: int) -> StreamingHttpResponse:
    """One row per device the reader sees: its standing under the tenant's preset (or
    ``?preset=``)."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_PATCHING)
    found = snapshot_queries.compliance_for_reader(
        tenant.pk, principal=request.principal, preset=_viewed_preset(request)
    )
    return exports.csv_response(found, f"patch-compliance-tenant-{tenant.pk}.csv")


def _viewed_preset(request: TandemRequest) -> str | None:
    """The preset asked for in ``?preset=`` (None: the tenant's own, also for a name that
    is no preset)."""
    asked = request.GET.get("preset", "")
    return asked if asked in compliance.Preset.VALUES else None


@page(CHANGE_PATCH_POLICY)
@require_POST
def compliance_settings(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Save the compliance preset form (the tenant's own IT); bad input changes nothing."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE_PATCH_POLICY)
    post = request.POST
    try:
        group_id = post.get("internet_facing_group_id") or None
        group = None
        if group_id is not None:
            group = (
                visible(
                    principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant=tenant)
                )
                .filter(pk=int(group_id))
                .first()
            )
            if group is None:
                raise InvalidInput({"internet_facing_group_id": ["No such asset group."]})
        services.set_compliance_settings(
            actor=principal,
            tenant=tenant,
            preset=post.get("preset", ""),
            days=int(post["days"]) if post.get("days") else None,
            staleness_days=int(post["staleness_days"]) if post.get("staleness_days") else None,
            reboot_debt_days=int(post["reboot_debt_days"])
            if post.get("reboot_debt_days")
            else None,
            internet_facing_group=group,
        )
        messages.success(request, "Compliance settings saved.")
    except ValueError:
        messages.error(request, "Days are whole numbers.")
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
    return redirect("patching:patch-compliance", tenant.pk)


@page(VIEW_PATCHING)
def compliance_summary(request: TandemRequest) -> HttpResponse:
    """Every tenant the reader reads patching in (a provider: its clients), worst first."""
    lines = snapshot_queries.compliance_across_tenants(request.principal)
    bars = [
        {
            "label": line.tenant.name,
            "value": line.compliance.percent_current or 0,
            "text": exports.percent_text(line.compliance.percent_current),
            "tone": exports.tone(line.compliance.percent_current),
        }
        for line in lines
    ]
    return render(
        request,
        "patching/compliance_summary.html",
        {"lines": lines, "bars": bars, "section": "patch-compliance"},
    )

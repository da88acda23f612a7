"""Rule pack pages (decision 0044): the installed packs (every reader sees the same), one
pack's rules and refusals, a tenant's rules (packs on or off, rules turned off, custom
rules and the upload form, placeholder lists and the rules waiting for them), one custom
rule (its YAML, edit, turn off, delete) and one placeholder list (decision 0051).

Thin handlers: the tenant or rule through the queries (out of reach is 404), one
service, a message, back to the page; a refused upload re-renders the page with the
reasons (422), nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pagination import CappedPaginator
from tandem.core.policies import allowed
from tandem.core.request import TandemRequest
from tandem.detection import queries, services
from tandem.detection.models import PlaceholderList
from tandem.detection.permissions import CHANGE_RULES, VIEW_RULES
from tandem.detection.placeholders import values_from_text
from tandem.detection.policies import changing_access
from tandem.tenancy.models import Tenant

PER_PAGE = 100


def _may_change(request: TandemRequest, tenant: Tenant) -> bool:
    principal = request.principal
    if not allowed(principal, CHANGE_RULES, tenant):
        return False
    return changing_access(principal, tenant.pk, queries.security_area_id(tenant.pk)) is not None


@page(VIEW_RULES)
def rule_packs(request: TandemRequest) -> HttpResponse:
    """The installed packs: version, rules loaded and refused."""
    return render(
        request,
        "detection/pack_list.html",
        {"section": "rule-packs", "packs": queries.installed_packs()},
    )


@page(VIEW_RULES)
def pack_detail(request: TandemRequest, pack_id: int) -> HttpResponse:
    """One pack version: its rules (searchable) and those it could not load, and why."""
    pack = queries.installed_pack(pack_id)
    search = request.GET.get("q", "").strip()[:200]
    paginator = CappedPaginator(queries.pack_rules(pack, search), PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "detection/pack_detail.html",
        {
            "section": "rule-packs",
            "pack": pack,
            "rules": list(page_obj.object_list),
            "page_obj": page_obj,
            "count": paginator.count,
            "count_exact": paginator.count_exact,
            "query_prefix": f"q={search}&" if search else "",
            "search": search,
        },
    )


def _tenant_page(
    request: TandemRequest,
    tenant: Tenant,
    *,
    status: int = 200,
    upload_errors: Any = None,
    list_errors: Any = None,
) -> HttpResponse:
    principal = request.principal
    lists = list(queries.placeholder_lists(principal, tenant.pk))
    waiting = queries.waiting_rules({row.name for row in lists})
    using = queries.rules_by_placeholder(waiting)
    return render(
        request,
        "detection/tenant_rules.html",
        {
            "tenant": tenant,
            "section": "rules",
            "packs": queries.tenant_packs(principal, tenant.pk),
            "disabled": list(queries.disabled_rules(principal, tenant.pk)[:500]),
            "custom": list(queries.custom_rules(principal, tenant.pk)[:500]),
            "placeholder_lists": [(row, using.get(row.name, [])) for row in lists],
            "waiting": [rule for rule in waiting if not rule.runs],
            "completed": [rule for rule in waiting if rule.runs],
            "may_change": _may_change(request, tenant),
            "upload_errors": upload_errors,
            "list_errors": list_errors,
            "list_form": request.POST if list_errors else {},
        },
        status=status,
    )


@page(VIEW_RULES)
def tenant_rules(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's rules: packs on or off, rules turned off, custom rules."""
    return _tenant_page(request, queries.rules_tenant(request.principal, tenant_id))


def _act(request: TandemRequest, call: Callable[[], object], done: str, back: Any) -> HttpResponse:
    try:
        call()
        messages.success(request, done)
    except InvalidInput as exc:
        messages.error(request, exc.in_words)
    except Conflict as exc:
        messages.error(request, str(exc))
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
    return back


@page(CHANGE_RULES)
@require_POST
def pack_toggle(request: TandemRequest, tenant_id: int, pack_id: int) -> HttpResponse:
    """Turn a pack off (with a reason) or on for the tenant."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    pack = queries.installed_pack(pack_id)
    enabled = request.POST.get("enabled") == "1"
    return _act(
        request,
        lambda: services.set_pack_enabled(
            actor=principal,
            tenant=tenant,
            pack_name=pack.name,
            enabled=enabled,
            reason=request.POST.get("reason", ""),
        ),
        f"Pack {pack.name} turned {'on' if enabled else 'off'}.",
        redirect("detection:tenant-rules", tenant.pk),
    )


@page(CHANGE_RULES)
@require_POST
def rule_toggle(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Turn one built-in rule off (with a reason) or back on for the tenant."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    post = request.POST
    rule_id = post.get("rule_id", "")
    if post.get("enabled") == "1":

        def call() -> object:
            services.enable_rule(
                actor=principal, tenant=tenant, rule_id=rule_id, reason=post.get("reason", "")
            )
            return None

        done = "Rule turned back on."
    else:

        def call() -> object:
            return services.disable_rule(
                actor=principal, tenant=tenant, rule_id=rule_id, reason=post.get("reason", "")
            )

        done = "Rule turned off for this tenant."
    back = post.get("back", "")
    target = (
        redirect(back)
        if back.startswith("/rule-packs/") and "//" not in back
        else redirect("detection:tenant-rules", tenant.pk)
    )
    return _act(request, call, done, target)


@page(CHANGE_RULES)
@require_POST
def custom_upload(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Upload custom rules (a YAML or zip file, or pasted YAML): all stored, or none with
    the reasons per file."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    files: dict[str, bytes] = {}
    upload = request.FILES.get("file")
    if upload is not None:
        files[(upload.name or "upload")[:200]] = upload.read(services.MAX_UPLOAD_BYTES + 1)
    text = request.POST.get("source", "")
    if text.strip():
        files["pasted.yml"] = text.encode()
    try:
        saved = services.upload_custom_rules(actor=principal, tenant=tenant, files=files)
    except InvalidInput as exc:
        return _tenant_page(
            request, tenant, status=422, upload_errors=sorted(exc.field_errors.items())
        )
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
        return redirect("detection:tenant-rules", tenant.pk)
    messages.success(request, f"{len(saved)} custom rule{'s' if len(saved) != 1 else ''} saved.")
    return redirect("detection:tenant-rules", tenant.pk)


@page(VIEW_RULES)
def custom_rule(request: TandemRequest, custom_rule_id: int) -> HttpResponse:
    """One custom rule: its YAML (editable by those who may), its state and version."""
    rule = queries.custom_rule(request.principal, custom_rule_id)
    return _custom_page(request, rule)


def _custom_page(
    request: TandemRequest, rule: Any, *, status: int = 200, errors: Any = None, source: str = ""
) -> HttpResponse:
    return render(
        request,
        "detection/custom_rule.html",
        {
            "rule": rule,
            "tenant": rule.tenant,
            "section": "rules",
            "may_change": _may_change(request, rule.tenant),
            "errors": errors,
            "source": source or rule.source,
        },
        status=status,
    )


@page(CHANGE_RULES)
@require_POST
def custom_edit(request: TandemRequest, custom_rule_id: int) -> HttpResponse:
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    source = request.POST.get("source", "")
    try:
        services.edit_custom_rule(actor=principal, rule=rule, source=source)
    except InvalidInput as exc:
        return _custom_page(
            request, rule, status=422, errors=sorted(exc.field_errors.items()), source=source
        )
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
        return redirect("detection:custom-rule", rule.pk)
    messages.success(request, "Rule saved as a new version.")
    return redirect("detection:custom-rule", rule.pk)


@page(CHANGE_RULES)
@require_POST
def custom_toggle(request: TandemRequest, custom_rule_id: int) -> HttpResponse:
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    enabled = request.POST.get("enabled") == "1"
    return _act(
        request,
        lambda: services.set_custom_rule_enabled(
            actor=principal, rule=rule, enabled=enabled, reason=request.POST.get("reason", "")
        ),
        f"Rule turned {'on' if enabled else 'off'}.",
        redirect("detection:custom-rule", rule.pk),
    )


@page(CHANGE_RULES)
@require_POST
def custom_delete(request: TandemRequest, custom_rule_id: int) -> HttpResponse:
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    tenant_id = rule.tenant_id
    try:
        services.delete_custom_rule(actor=principal, rule=rule)
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
        return redirect("detection:custom-rule", rule.pk)
    messages.success(request, "Custom rule deleted.")
    return redirect("detection:tenant-rules", tenant_id)


# --- Placeholder lists (decision 0051) -----------------------------------------------------


@page(CHANGE_RULES)
@require_POST
def placeholder_add(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Add a placeholder list (values one per line); a refusal re-renders the tenant's
    page with the reasons (422), nothing stored."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    post = request.POST
    try:
        row = services.create_placeholder_list(
            actor=principal,
            tenant=tenant,
            name=post.get("name", ""),
            values=values_from_text(post.get("values", "")),
            description=post.get("description", ""),
        )
    except InvalidInput as exc:
        return _tenant_page(
            request, tenant, status=422, list_errors=sorted(exc.field_errors.items())
        )
    except Conflict as exc:
        messages.error(request, str(exc))
        return redirect("detection:tenant-rules", tenant.pk)
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
        return redirect("detection:tenant-rules", tenant.pk)
    messages.success(request, f"List %{row.name}% saved: it applies to the next batch of events.")
    return redirect("detection:tenant-rules", tenant.pk)


def _placeholder_page(
    request: TandemRequest,
    row: PlaceholderList,
    *,
    status: int = 200,
    errors: Any = None,
    values: str | None = None,
) -> HttpResponse:
    waiting = queries.waiting_rules(
        set(
            queries.placeholder_lists(request.principal, row.tenant_id).values_list(
                "name", flat=True
            )
        )
    )
    return render(
        request,
        "detection/placeholder_list.html",
        {
            "row": row,
            "tenant": row.tenant,
            "section": "rules",
            "may_change": _may_change(request, row.tenant),
            "rules": queries.rules_by_placeholder(waiting).get(row.name, []),
            "errors": errors,
            "values": "\n".join(row.values) if values is None else values,
        },
        status=status,
    )


@page(VIEW_RULES)
def placeholder_detail(request: TandemRequest, placeholder_list_id: int) -> HttpResponse:
    """One placeholder list: its values (editable by those who may), who changed it when,
    and the installed rules that expand it."""
    row = queries.placeholder_list(request.principal, placeholder_list_id)
    return _placeholder_page(request, row)


@page(CHANGE_RULES)
@require_POST
def placeholder_edit(request: TandemRequest, placeholder_list_id: int) -> HttpResponse:
    principal = request.principal
    row = queries.placeholder_list(principal, placeholder_list_id)
    text = request.POST.get("values", "")
    try:
        services.edit_placeholder_list(
            actor=principal,
            placeholder_list=row,
            values=values_from_text(text),
            description=request.POST.get("description", ""),
        )
    except InvalidInput as exc:
        return _placeholder_page(
            request, row, status=422, errors=sorted(exc.field_errors.items()), values=text
        )
    except Conflict as exc:
        messages.error(request, str(exc))
        return redirect("detection:placeholder-list", row.pk)
    except PermissionDenied:
        messages.error(request, "You may not change this tenant's rules.")
        return redirect("detection:placeholder-list", row.pk)
    messages.success(request, "Values saved: they apply to the next batch of events.")
    return redirect("detection:placeholder-list", row.pk)


@page(CHANGE_RULES)
@require_POST
def placeholder_delete(request: TandemRequest, placeholder_list_id: int) -> HttpResponse:
    principal = request.principal
    row = queries.placeholder_list(principal, placeholder_list_id)
    tenant_id = row.tenant_id
    return _act(
        request,
        lambda: services.delete_placeholder_list(actor=principal, placeholder_list=row),
        f"List %{row.name}% deleted.",
        redirect("detection:tenant-rules", tenant_id),
    )

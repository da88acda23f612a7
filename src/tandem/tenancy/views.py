"""Tenancy pages: the cross-tenant home, a tenant's overview and settings, engagements (grant,
accept, rescope, suspend, resume, end), and sites, asset groups and service areas.

Handlers are thin: parse the form, look objects up through the queries and policies (another
tenant's object, or one outside a provider's engagement, is a 404), call one service, then
render or redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.audit import queries as audit_queries
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.policies import SIGNED_IN
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.tenancy import queries, services
from tandem.tenancy.choices import ENGAGEMENT_ACTIONS, EngagementStatus
from tandem.tenancy.forms import (
    AssetGroupForm,
    EngagementGrantForm,
    EngagementScopeForm,
    ProviderCreateForm,
    ServiceAreaCreateForm,
    ServiceAreaEditForm,
    SiteForm,
    StatusChangeForm,
    TenantCreateForm,
    TenantSettingsForm,
)
from tandem.tenancy.models import AssetGroup, Engagement, Party, ServiceArea, Site, Tenant

# --- Home ----------------------------------------------------------------------------------


@page(SIGNED_IN)
def home(request: TandemRequest) -> HttpResponse:
    """Everything the person works on: their tenants and their providers' engagements."""
    principal = request.principal
    if principal.is_requester_only and principal.tenant_accesses:
        # Requesters open and follow tickets; the portal is their home.
        return redirect("servicedesk:portal")
    tenants = list(queries.tenants(principal))
    if len(tenants) == 1 and not principal.provider_accesses and not principal.is_superuser:
        return redirect("tenancy:tenant", tenants[0].pk)
    cards = []
    for tenant in tenants:
        accesses = principal.accesses_in(tenant.pk)
        cards.append(
            {
                "tenant": tenant,
                "roles": sorted({a.role_key for a in accesses if not a.is_provider}),
                "via_provider": sorted(
                    {a.provider_id for a in accesses if a.provider_id is not None}
                ),
            }
        )
    providers = []
    if principal.provider_ids:
        rows = queries.engagements_with_scope(principal, provider_id__in=principal.provider_ids)
        acceptable = set(
            queries.engagements(principal, "tenancy.accept_engagement")
            .filter(status=EngagementStatus.PENDING)
            .values_list("pk", flat=True)
        )
        order = {"pending": 0, "active": 1, "suspended": 2, "ended": 3}
        for provider in queries.providers(principal).filter(pk__in=principal.provider_ids):
            own = sorted(
                (e for e in rows if e.provider_id == provider.pk),
                key=lambda e: (order.get(e.status, 9), e.tenant.name, e.name),
            )
            providers.append(
                {
                    "provider": provider,
                    "roles": sorted(
                        {
                            a.role_key
                            for a in principal.provider_accesses
                            if a.provider_id == provider.pk
                        }
                    ),
                    "engagements": own,
                    "may_manage_staff": bool(
                        principal.provider_accesses_with("accounts.view_membership", provider.pk)
                    ),
                }
            )
    else:
        acceptable = set()
    return render(
        request,
        "tenancy/tenant_home.html",
        {
            "reachable": {t.pk for t in tenants},
            "cards": cards,
            "providers": providers,
            "acceptable": acceptable,
            "is_operator": principal.is_superuser,
            "section": "home",
        },
    )


@page("tenancy.add_tenant")
@require_http_methods(["GET", "POST"])
def tenant_create(request: TandemRequest) -> HttpResponse:
    """The instance operator creates a client company, optionally naming its first owner."""
    principal = request.principal
    form = TenantCreateForm(request.POST or None, initial={"time_zone": "UTC"})
    tenant, status = submit_form(
        request,
        form,
        lambda data: services.create_tenant_with_owner(actor=principal, **data),
    )
    if tenant is not None:
        messages.success(request, f"Tenant {tenant.name} is created.")
        return redirect("tenancy:home")
    return render(
        request, "tenancy/tenant_create.html", {"form": form, "section": "home"}, status=status
    )


@page("tenancy.add_provider")
@require_http_methods(["GET", "POST"])
def provider_create(request: TandemRequest) -> HttpResponse:
    """The instance operator registers a provider (MSP or MSSP) that tenants may engage."""
    principal = request.principal
    form = ProviderCreateForm(request.POST or None)
    provider, status = submit_form(
        request, form, lambda data: services.create_provider(actor=principal, **data)
    )
    if provider is not None:
        messages.success(request, f"Provider {provider.name} is registered.")
        return redirect("tenancy:home")
    return render(
        request, "tenancy/provider_create.html", {"form": form, "section": "home"}, status=status
    )


# --- Tenant overview and settings ----------------------------------------------------------


def _visible_count(
    principal: Principal, action: str, tenant: Tenant, rows: QuerySet[Any]
) -> int | None:
    if not policies.allowed(principal, action, tenant):
        return None
    return policies.visible(principal, action, rows.filter(tenant_id=tenant.pk)).count()


@page("tenancy.view_tenant")
def tenant_detail(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id)
    if not principal.is_it_in(tenant.pk) and not principal.is_superuser:
        # A requester here has nothing on the overview to use: their tickets are the portal.
        return redirect("servicedesk:portal")
    may_see_engagements = policies.allowed(principal, "tenancy.view_engagement", tenant)
    engagements = (
        queries.engagements_with_scope(principal, tenant_id=tenant.pk)
        if may_see_engagements
        else []
    )
    may_change = policies.allowed(principal, "tenancy.change_tenant", tenant)
    context = {
        "tenant": tenant,
        "section": "overview",
        "counts": {
            "sites": _visible_count(principal, "tenancy.view_site", tenant, Site.objects.all()),
            "asset_groups": _visible_count(
                principal, "tenancy.view_assetgroup", tenant, AssetGroup.objects.all()
            ),
            "engagements": len(engagements) if may_see_engagements else None,
        },
        "active_engagements": [e for e in engagements if e.status == EngagementStatus.ACTIVE],
        "pending_count": sum(e.status == EngagementStatus.PENDING for e in engagements),
        "parties": policies.visible(
            principal, "tenancy.view_party", Party.objects.filter(tenant_id=tenant.pk)
        ).select_related("provider", "engagement"),
        "may_see_parties": policies.allowed(principal, "tenancy.view_party", tenant),
        "settings_form": _settings_form(tenant) if may_change else None,
    }
    return render(request, "tenancy/tenant_detail.html", context)


def _settings_form(tenant: Tenant, data: Any = None) -> TenantSettingsForm:
    return TenantSettingsForm(
        data,
        initial={
            "name": tenant.name,
            "time_zone": tenant.time_zone,
            "country": tenant.country,
            "require_mfa": tenant.require_mfa,
        },
    )


@page("tenancy.change_tenant")
@require_http_methods(["GET", "POST"])
def tenant_settings(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.change_tenant")
    form = _settings_form(tenant, request.POST or None)
    updated, status = submit_form(
        request, form, lambda data: services.update_tenant(actor=principal, tenant=tenant, **data)
    )
    if updated is not None:
        messages.success(request, "Settings saved.")
        return redirect("tenancy:tenant", tenant.pk)
    tenant.refresh_from_db()  # a rejected form must not rename the page around it
    return render(
        request,
        "tenancy/tenant_settings.html",
        {"tenant": tenant, "form": form, "section": "settings"},
        status=status,
    )


# --- Engagements ---------------------------------------------------------------------------


def _scope_choices(
    principal: Principal, tenant: Tenant, current: Engagement | None = None
) -> dict[str, Any]:
    """What a mandate in ``tenant`` can cover: its active service areas (plus those already
    covered), its sites and its asset groups, as far as the principal sees them."""
    current_areas = [a.pk for a in queries.scope_of(current)[0]] if current else []
    areas = policies.visible(
        principal, "tenancy.view_servicearea", ServiceArea.objects.filter(tenant_id=tenant.pk)
    ).filter(Q(is_active=True) | Q(pk__in=current_areas))
    return {
        "service_areas": areas,
        "sites": policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        "asset_groups": policies.visible(
            principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant.pk)
        ),
    }


@page("tenancy.view_engagement")
def engagements(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.view_engagement")
    rows = queries.engagements_with_scope(principal, tenant_id=tenant.pk)
    order = {"pending": 0, "active": 1, "suspended": 2, "ended": 3}
    rows.sort(key=lambda e: (order.get(e.status, 9), e.provider.name, e.name))
    return render(
        request,
        "tenancy/engagement_list.html",
        {
            "tenant": tenant,
            "engagements": rows,
            "may_grant": policies.allowed(principal, "tenancy.grant_engagement", tenant),
            "section": "engagements",
        },
    )


@page("tenancy.grant_engagement")
@require_http_methods(["GET", "POST"])
def engagement_grant(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant owner grants a provider a mandate; it stays pending until accepted."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.grant_engagement")
    form = EngagementGrantForm(
        request.POST or None,
        initial={"starts_on": timezone.localdate()},
        providers=queries.providers_to_engage(principal, tenant),
        **_scope_choices(principal, tenant),
    )
    engagement, status = submit_form(
        request,
        form,
        lambda data: services.grant_engagement(
            actor=principal,
            tenant=tenant,
            provider=data["provider_id"],
            name=data["name"],
            **form.scope_arguments(),
        ),
    )
    if engagement is not None:
        messages.success(
            request,
            f"Engagement “{engagement.name}” is granted to {engagement.provider.name}. "
            "It stays pending until the provider's admin accepts it.",
        )
        return redirect("tenancy:engagement", engagement.pk)
    return render(
        request,
        "tenancy/engagement_grant.html",
        {"tenant": tenant, "form": form, "section": "engagements"},
        status=status,
    )


def _engagement_context(principal: Principal, engagement: Engagement) -> dict[str, Any]:
    """The engagement's tenant for the page shell, if the principal can open that tenant.

    A provider whose engagement is suspended or ended keeps seeing its own engagement, but
    not the tenant (as in the API); a pending offer names the tenant so that the provider's
    admin knows who offers it.
    """
    tenant = queries.tenants(principal).filter(pk=engagement.tenant_id).first()
    client = tenant or (
        engagement.tenant if engagement.status == EngagementStatus.PENDING else None
    )
    return {
        "engagement": engagement,
        "tenant": tenant,
        "client_name": client.name if client else "",
        "section": "engagements",
    }


@page("tenancy.view_engagement")
def engagement_detail(request: TandemRequest, engagement_id: int) -> HttpResponse:
    principal = request.principal
    found = queries.engagement(principal, engagement_id)
    [engagement] = queries.engagements_with_scope(principal, pk=found.pk)
    history = audit_queries.entries(principal).filter(
        tenant_id=engagement.tenant_id,
        target_type=Engagement._meta.label,
        target_id=str(engagement.pk),
    )[:50]
    status = engagement.status
    live = status != EngagementStatus.ENDED
    context = _engagement_context(principal, engagement)
    context.update(
        {
            "history": history,
            "allowed_actions": [
                (key, ENGAGEMENT_ACTIONS.get(key, key)) for key in engagement.allowed_actions
            ],
            "can_accept": status == EngagementStatus.PENDING
            and policies.allowed(principal, "tenancy.accept_engagement", engagement),
            "can_rescope": live
            and policies.allowed(principal, "tenancy.rescope_engagement", engagement),
            "can_suspend": status in (EngagementStatus.ACTIVE, EngagementStatus.PENDING)
            and policies.allowed(principal, "tenancy.suspend_engagement", engagement),
            "can_resume": status == EngagementStatus.SUSPENDED
            and policies.allowed(principal, "tenancy.suspend_engagement", engagement),
            "can_end": live and policies.allowed(principal, "tenancy.end_engagement", engagement),
        }
    )
    return render(request, "tenancy/engagement_detail.html", context)


@page("tenancy.accept_engagement")
@require_http_methods(["GET", "POST"])
def engagement_accept(request: TandemRequest, engagement_id: int) -> HttpResponse:
    """Confirm, then accept a pending engagement: the page says what the provider's staff
    will reach; only a POST that carries ``confirm=yes`` (the page's button) accepts, so a
    stray click or a replayed form never opens a tenant."""
    principal = request.principal
    engagement = queries.engagement(principal, engagement_id, action="tenancy.accept_engagement")
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        [scoped] = queries.engagements_with_scope(principal, pk=engagement.pk)
        return render(
            request, "tenancy/engagement_accept.html", _engagement_context(principal, scoped)
        )
    try:
        services.accept_engagement(actor=principal, engagement=engagement)
        messages.success(
            request,
            f"You accepted “{engagement.name}” for {engagement.tenant.name}. "
            "Your staff can work in it from now on.",
        )
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("tenancy:home")


@page("tenancy.rescope_engagement")
@require_http_methods(["GET", "POST"])
def engagement_rescope(request: TandemRequest, engagement_id: int) -> HttpResponse:
    """Change what a mandate covers; the provider's next request sees the new scope."""
    principal = request.principal
    found = queries.engagement(principal, engagement_id, action="tenancy.rescope_engagement")
    [engagement] = queries.engagements_with_scope(principal, pk=found.pk)
    form = EngagementScopeForm(
        request.POST or None,
        initial={
            "service_area_ids": queries.scope_of(engagement)[0],
            "site_ids": queries.scope_of(engagement)[1],
            "asset_group_ids": queries.scope_of(engagement)[2],
            "allowed_actions": engagement.allowed_actions,
            "starts_on": engagement.starts_on,
            "ends_on": engagement.ends_on,
        },
        **_scope_choices(principal, engagement.tenant, engagement),
    )
    updated, status = submit_form(
        request,
        form,
        lambda data: services.rescope_engagement(
            actor=principal, engagement=engagement, **form.scope_arguments()
        ),
    )
    if updated is not None:
        messages.success(request, f"The scope of “{engagement.name}” is changed.")
        return redirect("tenancy:engagement", engagement.pk)
    context = _engagement_context(principal, engagement)
    context["form"] = form
    return render(request, "tenancy/engagement_rescope.html", context, status=status)


#: The confirmed status changes: (action, service, title, button, consequence).
STATUS_CHANGES: dict[str, tuple[str, Callable[..., Engagement], str, str, str]] = {
    "suspend": (
        "tenancy.suspend_engagement",
        services.suspend_engagement,
        "Suspend",
        "Suspend now",
        "The provider's staff lose access to this tenant on their very next request. "
        "You can resume the engagement later.",
    ),
    "resume": (
        "tenancy.suspend_engagement",
        services.resume_engagement,
        "Resume",
        "Resume now",
        "The provider's staff get their access back (or, if it was never accepted, the "
        "engagement is pending again).",
    ),
    "end": (
        "tenancy.end_engagement",
        services.end_engagement,
        "End",
        "End for good",
        "The provider loses access for good. This cannot be undone; its history stays, "
        "attributed to it.",
    ),
}


def _change_status(request: TandemRequest, engagement_id: int, change: str) -> HttpResponse:
    action, service, title, button, consequence = STATUS_CHANGES[change]
    principal = request.principal
    engagement = queries.engagement(principal, engagement_id, action=action)
    form = StatusChangeForm(request.POST or None)
    updated, status = submit_form(
        request,
        form,
        lambda data: service(actor=principal, engagement=engagement, reason=data["reason"]),
    )
    if updated is not None:
        messages.success(
            request, f"“{updated.name}” is now {updated.get_status_display().lower()}."
        )
        return redirect("tenancy:engagement", engagement.pk)
    context = _engagement_context(principal, engagement)
    context.update(
        {
            "form": form,
            "change": change,
            "title": title,
            "button": button,
            "consequence": consequence,
            "danger": change != "resume",
        }
    )
    return render(request, "tenancy/engagement_confirm.html", context, status=status)


@page("tenancy.suspend_engagement")
@require_http_methods(["GET", "POST"])
def engagement_suspend(request: TandemRequest, engagement_id: int) -> HttpResponse:
    return _change_status(request, engagement_id, "suspend")


@page("tenancy.suspend_engagement")
@require_http_methods(["GET", "POST"])
def engagement_resume(request: TandemRequest, engagement_id: int) -> HttpResponse:
    return _change_status(request, engagement_id, "resume")


@page("tenancy.end_engagement")
@require_http_methods(["GET", "POST"])
def engagement_end(request: TandemRequest, engagement_id: int) -> HttpResponse:
    return _change_status(request, engagement_id, "end")


# --- Sites, asset groups, service areas ----------------------------------------------------


def _list_page(
    request: TandemRequest,
    tenant_id: int,
    *,
    model: type[Any],
    kind: str,
    template: str,
    form: Any,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, f"tenancy.view_{kind}")
    rows = policies.visible(
        principal, f"tenancy.view_{kind}", model.objects.filter(tenant_id=tenant.pk)
    )
    editable = set(
        policies.visible(
            principal, f"tenancy.change_{kind}", model.objects.filter(tenant_id=tenant.pk)
        ).values_list("pk", flat=True)
    )
    may_add = policies.allowed(principal, f"tenancy.add_{kind}", tenant)
    context = {
        "tenant": tenant,
        "rows": rows,
        "editable": editable,
        "form": form(tenant) if may_add else None,
        **(extra or {}),
    }
    return render(request, template, context)


def _form_page(
    request: TandemRequest,
    *,
    tenant: Tenant,
    form: Any,
    write: Callable[[dict[str, Any]], Any],
    done: str,
    message: Callable[[Any], str],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    saved, status = submit_form(request, form, write)
    if saved is not None:
        messages.success(request, message(saved))
        return redirect(done)
    for value in context.values():
        if request.method == "POST" and getattr(value, "pk", None) is not None:
            value.refresh_from_db()  # a rejected form must not rename the page around it
    return render(request, template, {"tenant": tenant, "form": form, **context}, status=status)


def _sites_of(principal: Principal, tenant: Tenant) -> QuerySet[Site]:
    return policies.visible(
        principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
    )


@page("tenancy.view_site")
def sites(request: TandemRequest, tenant_id: int) -> HttpResponse:
    return _list_page(
        request,
        tenant_id,
        model=Site,
        kind="site",
        template="tenancy/site_list.html",
        form=lambda tenant: SiteForm(),
        extra={"section": "sites"},
    )


@page("tenancy.add_site")
@require_http_methods(["GET", "POST"])
def site_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.add_site")
    return _form_page(
        request,
        tenant=tenant,
        form=SiteForm(request.POST or None),
        write=lambda data: services.create_site(actor=principal, tenant=tenant, **data),
        done=reverse("tenancy:sites", args=[tenant.pk]),
        message=lambda site: f"Site “{site.name}” is added.",
        template="tenancy/site_form.html",
        context={"section": "sites", "site": None},
    )


@page("tenancy.change_site")
@require_http_methods(["GET", "POST"])
def site_edit(request: TandemRequest, site_id: int) -> HttpResponse:
    principal = request.principal
    site = policies.get_visible_or_404(
        principal, "tenancy.change_site", Site.objects.all(), pk=site_id
    )
    tenant = tenant_in_reach(principal, site.tenant_id)
    form = SiteForm(
        request.POST or None,
        initial={"name": site.name, "address": site.address, "time_zone": site.time_zone},
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_site(actor=principal, site=site, **data),
        done=reverse("tenancy:sites", args=[tenant.pk]),
        message=lambda saved: f"Site “{saved.name}” is saved.",
        template="tenancy/site_form.html",
        context={"section": "sites", "site": site},
    )


@page("tenancy.view_assetgroup")
def asset_groups(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    return _list_page(
        request,
        tenant_id,
        model=AssetGroup,
        kind="assetgroup",
        template="tenancy/assetgroup_list.html",
        form=lambda tenant: AssetGroupForm(sites=_sites_of(principal, tenant)),
        extra={"section": "asset-groups"},
    )


@page("tenancy.add_assetgroup")
@require_http_methods(["GET", "POST"])
def asset_group_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.add_assetgroup")
    form = AssetGroupForm(request.POST or None, sites=_sites_of(principal, tenant))
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.create_asset_group(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=reverse("tenancy:asset-groups", args=[tenant.pk]),
        message=lambda group: f"Asset group “{group.name}” is added.",
        template="tenancy/assetgroup_form.html",
        context={"section": "asset-groups", "group": None},
    )


@page("tenancy.change_assetgroup")
@require_http_methods(["GET", "POST"])
def asset_group_edit(request: TandemRequest, asset_group_id: int) -> HttpResponse:
    principal = request.principal
    group = policies.get_visible_or_404(
        principal, "tenancy.change_assetgroup", AssetGroup.objects.all(), pk=asset_group_id
    )
    tenant = tenant_in_reach(principal, group.tenant_id)
    form = AssetGroupForm(
        request.POST or None,
        initial={"name": group.name, "site_id": group.site_id, "description": group.description},
        sites=_sites_of(principal, tenant),
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_asset_group(
            actor=principal, group=group, **form.arguments()
        ),
        done=reverse("tenancy:asset-groups", args=[tenant.pk]),
        message=lambda saved: f"Asset group “{saved.name}” is saved.",
        template="tenancy/assetgroup_form.html",
        context={"section": "asset-groups", "group": group},
    )


@page("tenancy.view_servicearea")
def service_areas(request: TandemRequest, tenant_id: int) -> HttpResponse:
    return _list_page(
        request,
        tenant_id,
        model=ServiceArea,
        kind="servicearea",
        template="tenancy/servicearea_list.html",
        form=lambda tenant: ServiceAreaCreateForm(),
        extra={"section": "service-areas"},
    )


@page("tenancy.add_servicearea")
@require_http_methods(["GET", "POST"])
def service_area_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "tenancy.add_servicearea")
    return _form_page(
        request,
        tenant=tenant,
        form=ServiceAreaCreateForm(request.POST or None),
        write=lambda data: services.create_service_area(actor=principal, tenant=tenant, **data),
        done=reverse("tenancy:service-areas", args=[tenant.pk]),
        message=lambda area: f"Service area “{area.name}” is added.",
        template="tenancy/servicearea_form.html",
        context={"section": "service-areas", "area": None},
    )


@page("tenancy.change_servicearea")
@require_http_methods(["GET", "POST"])
def service_area_edit(request: TandemRequest, service_area_id: int) -> HttpResponse:
    principal = request.principal
    area = policies.get_visible_or_404(
        principal, "tenancy.change_servicearea", ServiceArea.objects.all(), pk=service_area_id
    )
    tenant = tenant_in_reach(principal, area.tenant_id)
    form = ServiceAreaEditForm(
        request.POST or None,
        initial={"name": area.name, "description": area.description, "is_active": area.is_active},
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_service_area(actor=principal, area=area, **data),
        done=reverse("tenancy:service-areas", args=[tenant.pk]),
        message=lambda saved: f"Service area “{saved.name}” is saved.",
        template="tenancy/servicearea_form.html",
        context={"section": "service-areas", "area": area},
    )

"""Tenancy API: tenants, providers, engagements, parties, sites, asset groups, service areas.

Handlers are thin: parse, find the object through the policy of their action (404 when out
of reach), call one service, return.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination, ordered
from tandem.core.errors import InvalidInput
from tandem.core.policies import get_visible_or_404
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.tenancy import queries, services
from tandem.tenancy.models import AssetGroup, Party, Provider, ServiceArea, Site
from tandem.tenancy.schemas import (
    AssetGroupIn,
    AssetGroupOut,
    AssetGroupPatch,
    EngagementFilter,
    EngagementIn,
    EngagementOut,
    EngagementPatch,
    PartyOut,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    ServiceAreaIn,
    ServiceAreaOut,
    ServiceAreaPatch,
    SiteIn,
    SiteOut,
    SitePatch,
    StatusChangeIn,
    TenantFilter,
    TenantIn,
    TenantOut,
    TenantPatch,
)

router = Router(tags=["tenancy"])

NAME_ORDER = {"name": "name", "created_at": "created_at", "id": "id"}


# --- Tenants -------------------------------------------------------------------------------


@router.get("/tenants", response=list[TenantOut])
@paginate(Pagination)
@declare_action("tenancy.view_tenant")
def list_tenants(request: TandemRequest, q: str | None = None, ordering: str | None = None):  # type: ignore[no-untyped-def]
    rows = queries.tenants(request.principal)
    if q:
        rows = rows.filter(name__icontains=q[:100])
    return ordered(rows, ordering or "name", NAME_ORDER)


@router.post("/tenants", response={201: TenantOut})
@declare_action("tenancy.add_tenant")
def create_tenant(request: TandemRequest, payload: TenantIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    policies.authorize(principal, "tenancy.add_tenant")
    tenant = services.create_tenant_with_owner(actor=principal, **payload.model_dump())
    return 201, tenant


@router.get("/tenants/{tenant_id}", response=TenantOut)
@declare_action("tenancy.view_tenant")
def get_tenant(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    return tenant_in_reach(request.principal, tenant_id)


@router.patch("/tenants/{tenant_id}", response=TenantOut)
@declare_action("tenancy.change_tenant")
def update_tenant(request: TandemRequest, tenant_id: Id, payload: TenantPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id)
    return services.update_tenant(
        actor=principal, tenant=tenant, **payload.model_dump(exclude_unset=True)
    )


# --- Providers -----------------------------------------------------------------------------


@router.get("/providers", response=list[ProviderOut])
@paginate(Pagination)
@declare_action("tenancy.view_provider")
def list_providers(request: TandemRequest, q: str | None = None, ordering: str | None = None):  # type: ignore[no-untyped-def]
    rows = queries.providers(request.principal)
    if q:
        rows = rows.filter(name__icontains=q[:100])
    return ordered(rows, ordering or "name", NAME_ORDER)


@router.post("/providers", response={201: ProviderOut})
@declare_action("tenancy.add_provider")
def create_provider(request: TandemRequest, payload: ProviderIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    policies.authorize(principal, "tenancy.add_provider")
    return 201, services.create_provider(actor=principal, **payload.model_dump())


@router.get("/providers/{provider_id}", response=ProviderOut)
@declare_action("tenancy.view_provider")
def get_provider(request: TandemRequest, provider_id: Id):  # type: ignore[no-untyped-def]
    return get_visible_or_404(
        request.principal, "tenancy.view_provider", Provider.objects.all(), pk=provider_id
    )


@router.patch("/providers/{provider_id}", response=ProviderOut)
@declare_action("tenancy.change_provider")
def update_provider(request: TandemRequest, provider_id: Id, payload: ProviderPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    provider = get_visible_or_404(
        principal, "tenancy.view_provider", Provider.objects.all(), pk=provider_id
    )
    return services.update_provider(
        actor=principal, provider=provider, **payload.model_dump(exclude_unset=True)
    )


# --- Engagements ---------------------------------------------------------------------------


@router.get("/engagements", response=list[EngagementOut])
@paginate(Pagination)
@declare_action("tenancy.view_engagement")
def list_engagements(  # type: ignore[no-untyped-def]
    request: TandemRequest, filters: Query[EngagementFilter], ordering: str | None = None
):
    rows = filters.filter(queries.engagements(request.principal))
    return ordered(rows, ordering, {**NAME_ORDER, "status": "status", "starts_on": "starts_on"})


@router.post("/engagements", response={201: EngagementOut})
@declare_action("tenancy.grant_engagement")
def grant_engagement(request: TandemRequest, payload: EngagementIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    provider = queries.providers(principal).filter(pk=payload.provider_id).first()
    if provider is None:
        raise InvalidInput({"provider_id": ["No such provider."]})
    assert isinstance(provider, Provider)
    data = payload.model_dump(exclude={"tenant_id", "provider_id"})
    engagement = services.grant_engagement(
        actor=principal, tenant=tenant, provider=provider, **data
    )
    return 201, queries.engagement(principal, engagement.pk)


@router.get("/engagements/{engagement_id}", response=EngagementOut)
@declare_action("tenancy.view_engagement")
def get_engagement(request: TandemRequest, engagement_id: Id):  # type: ignore[no-untyped-def]
    return queries.engagement(request.principal, engagement_id)


@router.patch("/engagements/{engagement_id}", response=EngagementOut)
@declare_action("tenancy.rescope_engagement")
def rescope_engagement(request: TandemRequest, engagement_id: Id, payload: EngagementPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    engagement = queries.engagement(principal, engagement_id)
    changes = payload.model_dump(exclude_unset=True)
    if "ends_on" not in changes:
        changes["ends_on"] = "keep"
    services.rescope_engagement(actor=principal, engagement=engagement, **changes)
    return queries.engagement(principal, engagement_id)


@router.post("/engagements/{engagement_id}/accept", response=EngagementOut)
@declare_action("tenancy.accept_engagement")
def accept_engagement(request: TandemRequest, engagement_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    engagement = queries.engagement(principal, engagement_id)
    services.accept_engagement(actor=principal, engagement=engagement)
    return queries.engagement(principal, engagement_id)


def _status_change(request: TandemRequest, engagement_id: int, reason: str, service):  # type: ignore[no-untyped-def]
    principal = request.principal
    engagement = queries.engagement(principal, engagement_id)
    service(actor=principal, engagement=engagement, reason=reason)
    return queries.engagement(principal, engagement_id)


@router.post("/engagements/{engagement_id}/suspend", response=EngagementOut)
@declare_action("tenancy.suspend_engagement")
def suspend_engagement(request: TandemRequest, engagement_id: Id, payload: StatusChangeIn):  # type: ignore[no-untyped-def]
    return _status_change(request, engagement_id, payload.reason, services.suspend_engagement)


@router.post("/engagements/{engagement_id}/resume", response=EngagementOut)
@declare_action("tenancy.suspend_engagement")
def resume_engagement(request: TandemRequest, engagement_id: Id, payload: StatusChangeIn):  # type: ignore[no-untyped-def]
    return _status_change(request, engagement_id, payload.reason, services.resume_engagement)


@router.post("/engagements/{engagement_id}/end", response=EngagementOut)
@declare_action("tenancy.end_engagement")
def end_engagement(request: TandemRequest, engagement_id: Id, payload: StatusChangeIn):  # type: ignore[no-untyped-def]
    return _status_change(request, engagement_id, payload.reason, services.end_engagement)


# --- Parties -------------------------------------------------------------------------------


@router.get("/parties", response=list[PartyOut])
@paginate(Pagination)
@declare_action("tenancy.view_party")
def list_parties(request: TandemRequest, filters: Query[TenantFilter], ordering: str | None = None):  # type: ignore[no-untyped-def]
    rows = policies.visible(request.principal, "tenancy.view_party", Party.objects.all())
    return ordered(filters.filter(rows), ordering or "name", {**NAME_ORDER, "kind": "kind"})


@router.get("/parties/{party_id}", response=PartyOut)
@declare_action("tenancy.view_party")
def get_party(request: TandemRequest, party_id: Id):  # type: ignore[no-untyped-def]
    return policies.get_visible_or_404(
        request.principal, "tenancy.view_party", Party.objects.all(), pk=party_id
    )


# --- Sites ---------------------------------------------------------------------------------


@router.get("/sites", response=list[SiteOut])
@paginate(Pagination)
@declare_action("tenancy.view_site")
def list_sites(
    request: TandemRequest,
    filters: Query[TenantFilter],
    q: str | None = None,
    ordering: str | None = None,
):  # type: ignore[no-untyped-def]
    rows = filters.filter(
        policies.visible(request.principal, "tenancy.view_site", Site.objects.all())
    )
    if q:
        rows = rows.filter(name__icontains=q[:100])
    return ordered(rows, ordering or "name", NAME_ORDER)


@router.post("/sites", response={201: SiteOut})
@declare_action("tenancy.add_site")
def create_site(request: TandemRequest, payload: SiteIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    return 201, services.create_site(actor=request.principal, tenant=tenant, **data)


@router.get("/sites/{site_id}", response=SiteOut)
@declare_action("tenancy.view_site")
def get_site(request: TandemRequest, site_id: Id):  # type: ignore[no-untyped-def]
    return policies.get_visible_or_404(
        request.principal, "tenancy.view_site", Site.objects.all(), pk=site_id
    )


@router.patch("/sites/{site_id}", response=SiteOut)
@declare_action("tenancy.change_site")
def update_site(request: TandemRequest, site_id: Id, payload: SitePatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    site = policies.get_visible_or_404(
        principal, "tenancy.view_site", Site.objects.all(), pk=site_id
    )
    return services.update_site(
        actor=principal, site=site, **payload.model_dump(exclude_unset=True)
    )


# --- Asset groups --------------------------------------------------------------------------


@router.get("/asset-groups", response=list[AssetGroupOut])
@paginate(Pagination)
@declare_action("tenancy.view_assetgroup")
def list_asset_groups(
    request: TandemRequest,
    filters: Query[TenantFilter],
    q: str | None = None,
    ordering: str | None = None,
):  # type: ignore[no-untyped-def]
    rows = filters.filter(
        policies.visible(request.principal, "tenancy.view_assetgroup", AssetGroup.objects.all())
    )
    if q:
        rows = rows.filter(name__icontains=q[:100])
    return ordered(rows, ordering or "name", NAME_ORDER)


@router.post("/asset-groups", response={201: AssetGroupOut})
@declare_action("tenancy.add_assetgroup")
def create_asset_group(request: TandemRequest, payload: AssetGroupIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    return 201, services.create_asset_group(actor=request.principal, tenant=tenant, **data)


@router.get("/asset-groups/{asset_group_id}", response=AssetGroupOut)
@declare_action("tenancy.view_assetgroup")
def get_asset_group(request: TandemRequest, asset_group_id: Id):  # type: ignore[no-untyped-def]
    return policies.get_visible_or_404(
        request.principal,
        "tenancy.view_assetgroup",
        AssetGroup.objects.all(),
        pk=asset_group_id,
    )


@router.patch("/asset-groups/{asset_group_id}", response=AssetGroupOut)
@declare_action("tenancy.change_assetgroup")
def update_asset_group(request: TandemRequest, asset_group_id: Id, payload: AssetGroupPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    group = policies.get_visible_or_404(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.all(), pk=asset_group_id
    )
    changes = payload.model_dump(exclude_unset=True)
    return services.update_asset_group(actor=principal, group=group, **changes)


# --- Service areas -------------------------------------------------------------------------


@router.get("/service-areas", response=list[ServiceAreaOut])
@paginate(Pagination)
@declare_action("tenancy.view_servicearea")
def list_service_areas(
    request: TandemRequest, filters: Query[TenantFilter], ordering: str | None = None
):  # type: ignore[no-untyped-def]
    rows = filters.filter(
        policies.visible(request.principal, "tenancy.view_servicearea", ServiceArea.objects.all())
    )
    return ordered(rows, ordering or "name", {**NAME_ORDER, "key": "key"})


@router.post("/service-areas", response={201: ServiceAreaOut})
@declare_action("tenancy.add_servicearea")
def create_service_area(request: TandemRequest, payload: ServiceAreaIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    return 201, services.create_service_area(actor=request.principal, tenant=tenant, **data)


@router.get("/service-areas/{service_area_id}", response=ServiceAreaOut)
@declare_action("tenancy.view_servicearea")
def get_service_area(request: TandemRequest, service_area_id: Id):  # type: ignore[no-untyped-def]
    return policies.get_visible_or_404(
        request.principal,
        "tenancy.view_servicearea",
        ServiceArea.objects.all(),
        pk=service_area_id,
    )


@router.patch("/service-areas/{service_area_id}", response=ServiceAreaOut)
@declare_action("tenancy.change_servicearea")
def update_service_area(request: TandemRequest, service_area_id: Id, payload: ServiceAreaPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    area = policies.get_visible_or_404(
        principal, "tenancy.view_servicearea", ServiceArea.objects.all(), pk=service_area_id
    )
    return services.update_service_area(
        actor=principal, area=area, **payload.model_dump(exclude_unset=True)
    )

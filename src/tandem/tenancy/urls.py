from django.urls import path

from tandem.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.home, name="home"),
    path("tenants/new/", views.tenant_create, name="tenant-create"),
    path("providers/new/", views.provider_create, name="provider-create"),
    path("tenants/<id:tenant_id>/", views.tenant_detail, name="tenant"),
    path("tenants/<id:tenant_id>/settings/", views.tenant_settings, name="tenant-settings"),
    path("tenants/<id:tenant_id>/engagements/", views.engagements, name="engagements"),
    path(
        "tenants/<id:tenant_id>/engagements/grant/",
        views.engagement_grant,
        name="engagement-grant",
    ),
    path("engagements/<id:engagement_id>/", views.engagement_detail, name="engagement"),
    path(
        "engagements/<id:engagement_id>/accept/",
        views.engagement_accept,
        name="engagement-accept",
    ),
    path(
        "engagements/<id:engagement_id>/rescope/",
        views.engagement_rescope,
        name="engagement-rescope",
    ),
    path(
        "engagements/<id:engagement_id>/suspend/",
        views.engagement_suspend,
        name="engagement-suspend",
    ),
    path(
        "engagements/<id:engagement_id>/resume/",
        views.engagement_resume,
        name="engagement-resume",
    ),
    path("engagements/<id:engagement_id>/end/", views.engagement_end, name="engagement-end"),
    path("tenants/<id:tenant_id>/sites/", views.sites, name="sites"),
    path("tenants/<id:tenant_id>/sites/new/", views.site_create, name="site-create"),
    path("sites/<id:site_id>/edit/", views.site_edit, name="site-edit"),
    path("tenants/<id:tenant_id>/asset-groups/", views.asset_groups, name="asset-groups"),
    path(
        "tenants/<id:tenant_id>/asset-groups/new/",
        views.asset_group_create,
        name="asset-group-create",
    ),
    path(
        "asset-groups/<id:asset_group_id>/edit/",
        views.asset_group_edit,
        name="asset-group-edit",
    ),
    path("tenants/<id:tenant_id>/service-areas/", views.service_areas, name="service-areas"),
    path(
        "tenants/<id:tenant_id>/service-areas/new/",
        views.service_area_create,
        name="service-area-create",
    ),
    path(
        "service-areas/<id:service_area_id>/edit/",
        views.service_area_edit,
        name="service-area-edit",
    ),
]

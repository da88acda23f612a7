from django.urls import path

from tandem.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.home, name="home"),
    path("tenants/new/", views.tenant_create, name="tenant-create"),
    path("providers/new/", views.provider_create, name="provider-create"),
    path("tenants/<int:tenant_id>/", views.tenant_detail, name="tenant"),
    path("tenants/<int:tenant_id>/settings/", views.tenant_settings, name="tenant-settings"),
    path("tenants/<int:tenant_id>/engagements/", views.engagements, name="engagements"),
    path(
        "tenants/<int:tenant_id>/engagements/grant/",
        views.engagement_grant,
        name="engagement-grant",
    ),
    path("engagements/<int:engagement_id>/", views.engagement_detail, name="engagement"),
    path(
        "engagements/<int:engagement_id>/accept/",
        views.engagement_accept,
        name="engagement-accept",
    ),
    path(
        "engagements/<int:engagement_id>/rescope/",
        views.engagement_rescope,
        name="engagement-rescope",
    ),
    path(
        "engagements/<int:engagement_id>/suspend/",
        views.engagement_suspend,
        name="engagement-suspend",
    ),
    path(
        "engagements/<int:engagement_id>/resume/",
        views.engagement_resume,
        name="engagement-resume",
    ),
    path("engagements/<int:engagement_id>/end/", views.engagement_end, name="engagement-end"),
    path("tenants/<int:tenant_id>/sites/", views.sites, name="sites"),
    path("tenants/<int:tenant_id>/sites/new/", views.site_create, name="site-create"),
    path("sites/<int:site_id>/edit/", views.site_edit, name="site-edit"),
    path("tenants/<int:tenant_id>/asset-groups/", views.asset_groups, name="asset-groups"),
    path(
        "tenants/<int:tenant_id>/asset-groups/new/",
        views.asset_group_create,
        name="asset-group-create",
    ),
    path(
        "asset-groups/<int:asset_group_id>/edit/",
        views.asset_group_edit,
        name="asset-group-edit",
    ),
    path("tenants/<int:tenant_id>/service-areas/", views.service_areas, name="service-areas"),
    path(
        "tenants/<int:tenant_id>/service-areas/new/",
        views.service_area_create,
        name="service-area-create",
    ),
    path(
        "service-areas/<int:service_area_id>/edit/",
        views.service_area_edit,
        name="service-area-edit",
    ),
]

"""Patching's pages, in the ``patching`` namespace."""

from django.urls import path

from tandem.patching import views

app_name = "patching"

urlpatterns = [
    path("tenants/<id:tenant_id>/patching/", views.dashboard, name="patch-dashboard"),
    path("tenants/<id:tenant_id>/patching/policies/", views.policies, name="patch-policies"),
    path(
        "tenants/<id:tenant_id>/patching/policies/edit/",
        views.policy_edit,
        name="patch-policy-edit",
    ),
    path(
        "tenants/<id:tenant_id>/patching/windows/new/",
        views.window_create,
        name="patch-window-create",
    ),
    path(
        "tenants/<id:tenant_id>/patching/rings/new/",
        views.ring_create,
        name="patch-ring-create",
    ),
    path(
        "tenants/<id:tenant_id>/patching/windows/<id:window_id>/delete/",
        views.window_delete,
        name="patch-window-delete",
    ),
    path(
        "tenants/<id:tenant_id>/patching/rings/<id:ring_id>/delete/",
        views.ring_delete,
        name="patch-ring-delete",
    ),
    path("patching/approvals/", views.approvals, name="patch-approvals"),
    path(
        "tenants/<id:tenant_id>/patching/compliance/",
        views.compliance_page,
        name="patch-compliance",
    ),
    path(
        "tenants/<id:tenant_id>/patching/compliance.csv",
        views.compliance_csv,
        name="patch-compliance-csv",
    ),
    path(
        "tenants/<id:tenant_id>/patching/compliance/settings/",
        views.compliance_settings,
        name="patch-compliance-settings",
    ),
    path("patching/compliance/", views.compliance_summary, name="patch-compliance-summary"),
    path(
        "devices/<id:device_id>/updates/decide/", views.device_decide, name="device-updates-decide"
    ),
]

"""Patching's pages, in the ``patching`` namespace."""

from django.urls import path

from tandem.patching import views

app_name = "patching"

urlpatterns = [
    path("tenants/<id:tenant_id>/patching/", views.dashboard, name="patch-dashboard"),
    path("tenants/<id:tenant_id>/patching/policies/", views.policies, name="patch-policies"),
    path("patching/approvals/", views.approvals, name="patch-approvals"),
    path(
        "devices/<id:device_id>/updates/decide/", views.device_decide, name="device-updates-decide"
    ),
]

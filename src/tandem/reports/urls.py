from django.urls import path

from tandem.reports import views

app_name = "reports"

urlpatterns = [
    path("tenants/<id:tenant_id>/dashboard/", views.tenant_dashboard, name="dashboard"),
    path(
        "providers/<id:provider_id>/dashboard/",
        views.provider_dashboard,
        name="provider-dashboard",
    ),
]

from django.urls import path

from tandem.audit import views

app_name = "audit"

urlpatterns = [
    path("tenants/<int:tenant_id>/audit/", views.log, name="log"),
    path("tenants/<int:tenant_id>/audit/export/", views.export, name="export"),
]

from django.urls import path

from tandem.audit import views

app_name = "audit"

urlpatterns = [
    path("tenants/<id:tenant_id>/audit/", views.log, name="log"),
    path("tenants/<id:tenant_id>/audit/export/", views.export, name="export"),
]

from django.urls import path

from tests.registry_app import views

urlpatterns = [
    path("tenants/<id:tenant_id>/registry-probe/", views.probe, name="registry-probe"),
]

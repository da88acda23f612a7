"""The device pages, in the ``assets`` namespace."""

from django.urls import path

from tandem.assets import views

app_name = "assets"

urlpatterns = [
    path("tenants/<id:tenant_id>/devices/", views.devices, name="devices"),
    path(
        "tenants/<id:tenant_id>/devices/offline-alerts/",
        views.offline_alerts,
        name="offline-alerts",
    ),
    path("devices/", views.all_devices, name="all-devices"),
    path("devices/<id:device_id>/", views.device_detail, name="device"),
    path("devices/<id:device_id>/edit/", views.device_edit, name="device-edit"),
    path("devices/<id:device_id>/retire/", views.device_retire, name="device-retire"),
]

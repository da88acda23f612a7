"""Alerts' pages, in the ``alerts`` namespace."""

from django.urls import path

from tandem.alerts import views

app_name = "alerts"

urlpatterns = [
    path("alerts/", views.alert_queue, name="alert-queue"),
    path("tenants/<id:tenant_id>/alerts/", views.tenant_alerts, name="tenant-alerts"),
    path(
        "tenants/<id:tenant_id>/alerts/suppressions/",
        views.suppressions,
        name="alert-suppressions",
    ),
    path("alerts/<id:alert_id>/", views.alert_detail, name="alert"),
    path("alerts/<id:alert_id>/acknowledge/", views.acknowledge, name="alert-acknowledge"),
    path("alerts/<id:alert_id>/false-positive/", views.false_positive, name="alert-false-positive"),
    path("alerts/<id:alert_id>/resolve/", views.resolve, name="alert-resolve"),
    path("alerts/<id:alert_id>/suppress/", views.suppress, name="alert-suppress"),
    path(
        "alerts/suppressions/<id:suppression_id>/lift/",
        views.lift,
        name="alert-suppression-lift",
    ),
]

from django.urls import path

from tandem.notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/<id:notification_id>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path("notifications/read-all/", views.notification_read_all, name="notifications-read-all"),
    path(
        "account/notifications/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path("tenants/<id:tenant_id>/webhooks/", views.webhooks, name="webhooks"),
    path(
        "tenants/<id:tenant_id>/webhooks/<id:webhook_id>/",
        views.webhook_detail,
        name="webhook",
    ),
    path(
        "tenants/<id:tenant_id>/webhooks/<id:webhook_id>/disable/",
        views.webhook_disable,
        name="webhook-disable",
    ),
    path("tenants/<id:tenant_id>/mail-review/", views.mail_review, name="mail-review"),
    path(
        "tenants/<id:tenant_id>/mail-review/inbound/<id:inbound_id>/raw/",
        views.mail_review_raw,
        name="mail-review-raw",
    ),
    path(
        "tenants/<id:tenant_id>/mail-review/inbound/<id:inbound_id>/retry/",
        views.mail_review_inbound_retry,
        name="mail-review-inbound-retry",
    ),
    path(
        "tenants/<id:tenant_id>/mail-review/inbound/<id:inbound_id>/accept/",
        views.mail_review_inbound_accept,
        name="mail-review-inbound-accept",
    ),
    path(
        "tenants/<id:tenant_id>/mail-review/outbound/<id:outbound_id>/retry/",
        views.mail_review_retry,
        name="mail-review-retry",
    ),
]

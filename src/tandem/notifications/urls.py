from django.urls import path

from tandem.notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        views.notification_read,
        name="notification-read",
    ),
    path("notifications/read-all/", views.notification_read_all, name="notifications-read-all"),
    path(
        "account/notifications/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path("tenants/<int:tenant_id>/webhooks/", views.webhooks, name="webhooks"),
    path(
        "tenants/<int:tenant_id>/webhooks/<int:webhook_id>/",
        views.webhook_detail,
        name="webhook",
    ),
    path(
        "tenants/<int:tenant_id>/webhooks/<int:webhook_id>/disable/",
        views.webhook_disable,
        name="webhook-disable",
    ),
    path("tenants/<int:tenant_id>/mail-review/", views.mail_review, name="mail-review"),
    path(
        "tenants/<int:tenant_id>/mail-review/inbound/<int:inbound_id>/raw/",
        views.mail_review_raw,
        name="mail-review-raw",
    ),
    path(
        "tenants/<int:tenant_id>/mail-review/inbound/<int:inbound_id>/retry/",
        views.mail_review_inbound_retry,
        name="mail-review-inbound-retry",
    ),
    path(
        "tenants/<int:tenant_id>/mail-review/inbound/<int:inbound_id>/accept/",
        views.mail_review_inbound_accept,
        name="mail-review-inbound-accept",
    ),
    path(
        "tenants/<int:tenant_id>/mail-review/outbound/<int:outbound_id>/retry/",
        views.mail_review_retry,
        name="mail-review-retry",
    ),
]

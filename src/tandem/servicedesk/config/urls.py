"""Pages of the desk configuration, under ``/tenants/<id>/desk/``, mounted in the
``servicedesk_config`` namespace by ``servicedesk/urls.py``."""

from django.urls import path

from tandem.servicedesk.config import views

DESK = "tenants/<id:tenant_id>/desk/"

urlpatterns = [
    path(DESK, views.desk_config, name="desk-config"),
    path(DESK + "priority-matrix/", views.priority_matrix_edit, name="priority-matrix-edit"),
    path(DESK + "statuses/", views.statuses_edit, name="statuses-edit"),
    path(DESK + "thresholds/", views.desk_thresholds_edit, name="desk-thresholds-edit"),
    path(DESK + "mail-senders/", views.mail_senders_edit, name="mail-senders-edit"),
    path(DESK + "calendars/", views.calendars, name="calendars"),
    path(DESK + "calendars/new/", views.calendar_create, name="calendar-create"),
    path(DESK + "calendars/<id:calendar_id>/edit/", views.calendar_edit, name="calendar-edit"),
    path(
        DESK + "calendars/<id:calendar_id>/delete/",
        views.calendar_delete,
        name="calendar-delete",
    ),
    path(DESK + "sla-policies/", views.sla_policies, name="sla-policies"),
    path(DESK + "sla-policies/new/", views.sla_policy_create, name="sla-policy-create"),
    path(
        DESK + "sla-policies/<id:sla_policy_id>/edit/",
        views.sla_policy_edit,
        name="sla-policy-edit",
    ),
    path(
        DESK + "sla-policies/<id:sla_policy_id>/activate/",
        views.sla_policy_activate,
        name="sla-policy-activate",
    ),
    path(
        DESK + "sla-policies/<id:sla_policy_id>/deactivate/",
        views.sla_policy_deactivate,
        name="sla-policy-deactivate",
    ),
    path(DESK + "categories/", views.categories, name="categories"),
    path(DESK + "categories/new/", views.category_create, name="category-create"),
    path(DESK + "categories/<id:category_id>/edit/", views.category_edit, name="category-edit"),
    path(
        DESK + "categories/<id:category_id>/retire/",
        views.category_retire,
        name="category-retire",
    ),
    path(
        DESK + "categories/<id:category_id>/reactivate/",
        views.category_reactivate,
        name="category-reactivate",
    ),
    path(DESK + "replies/", views.canned_replies, name="canned-replies"),
    path(DESK + "replies/new/", views.canned_reply_create, name="canned-reply-create"),
    path(
        DESK + "replies/<id:canned_reply_id>/edit/",
        views.canned_reply_edit,
        name="canned-reply-edit",
    ),
    path(
        DESK + "replies/<id:canned_reply_id>/delete/",
        views.canned_reply_delete,
        name="canned-reply-delete",
    ),
]

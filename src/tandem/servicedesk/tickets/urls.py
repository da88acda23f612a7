"""Pages of a ticket: list, create, log for a caller, the ticket page and every action on it.

No ``app_name``: ``servicedesk/urls.py`` mounts these in the ``servicedesk`` namespace.
"""

from django.urls import path

from tandem.servicedesk.tickets import views

urlpatterns = [
    path("tenants/<id:tenant_id>/tickets/new/", views.ticket_create, name="ticket-create"),
    path("tenants/<id:tenant_id>/tickets/log/", views.ticket_log, name="ticket-log"),
    path("tickets/<id:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<id:ticket_id>/comments/", views.ticket_comment, name="ticket-comment"),
    path("tickets/<id:ticket_id>/status/", views.ticket_status, name="ticket-status"),
    path("tickets/<id:ticket_id>/priority/", views.ticket_priority, name="ticket-priority"),
    path("tickets/<id:ticket_id>/handoff/", views.ticket_handoff, name="ticket-handoff"),
    path("tickets/<id:ticket_id>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<id:ticket_id>/time/", views.ticket_time, name="ticket-time"),
    path(
        "attachments/<id:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
    path(
        "tickets/<id:ticket_id>/attachments/",
        views.ticket_attach,
        name="ticket-attach",
    ),
    path("tickets/<id:ticket_id>/merge/", views.ticket_merge, name="ticket-merge"),
    path("tickets/<id:ticket_id>/parent/", views.ticket_parent, name="ticket-parent"),
    path("tickets/<id:ticket_id>/tags/", views.ticket_tags, name="ticket-tags"),
    path("tickets/<id:ticket_id>/devices/", views.ticket_devices, name="ticket-devices"),
    path("tickets/<id:ticket_id>/watch/", views.ticket_watch, name="ticket-watch"),
    path("tickets/<id:ticket_id>/unwatch/", views.ticket_unwatch, name="ticket-unwatch"),
]

from django.urls import path

from tandem.servicedesk import views_extras

app_name = "servicedesk_extras"

urlpatterns = [
    path(
        "attachments/<id:attachment_id>/",
        views_extras.attachment_download,
        name="attachment-download",
    ),
    path(
        "tickets/<id:ticket_id>/attachments/",
        views_extras.ticket_attach,
        name="ticket-attach",
    ),
    path("tickets/<id:ticket_id>/merge/", views_extras.ticket_merge, name="ticket-merge"),
    path("tickets/<id:ticket_id>/parent/", views_extras.ticket_parent, name="ticket-parent"),
    path("tickets/<id:ticket_id>/tags/", views_extras.ticket_tags, name="ticket-tags"),
    path("tickets/<id:ticket_id>/watch/", views_extras.ticket_watch, name="ticket-watch"),
    path("tickets/<id:ticket_id>/unwatch/", views_extras.ticket_unwatch, name="ticket-unwatch"),
]

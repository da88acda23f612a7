from django.urls import path

from tandem.servicedesk import views_extras

app_name = "servicedesk_extras"

urlpatterns = [
    path(
        "attachments/<int:attachment_id>/",
        views_extras.attachment_download,
        name="attachment-download",
    ),
    path(
        "tickets/<int:ticket_id>/attachments/",
        views_extras.ticket_attach,
        name="ticket-attach",
    ),
    path("tickets/<int:ticket_id>/merge/", views_extras.ticket_merge, name="ticket-merge"),
    path("tickets/<int:ticket_id>/parent/", views_extras.ticket_parent, name="ticket-parent"),
    path("tickets/<int:ticket_id>/tags/", views_extras.ticket_tags, name="ticket-tags"),
    path("tickets/<int:ticket_id>/watch/", views_extras.ticket_watch, name="ticket-watch"),
    path("tickets/<int:ticket_id>/unwatch/", views_extras.ticket_unwatch, name="ticket-unwatch"),
]

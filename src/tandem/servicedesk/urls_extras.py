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
]

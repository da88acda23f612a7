from django.urls import path

from tandem.servicedesk import views_queues

app_name = "servicedesk_queues"

urlpatterns = [
    path("queue/", views_queues.queue, name="queue"),
    path("queue/export.csv", views_queues.queue_export, name="queue-export"),
    path("queue/bulk/", views_queues.queue_bulk, name="queue-bulk"),
    path("queue/views/", views_queues.saved_view_create, name="saved-view-create"),
    path(
        "queue/views/<id:saved_view_id>/delete/",
        views_queues.saved_view_delete,
        name="saved-view-delete",
    ),
]

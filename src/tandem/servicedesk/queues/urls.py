"""The queue's pages (namespace ``servicedesk_queues``); a tenant's queue and the old address
of the cross-tenant queue, which ``servicedesk/urls.py`` keeps in the ``servicedesk`` namespace."""

from django.urls import path

from tandem.servicedesk.queues import views

app_name = "servicedesk_queues"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/export.csv", views.queue_export, name="queue-export"),
    path("queue/bulk/", views.queue_bulk, name="queue-bulk"),
    path("queue/views/", views.saved_view_create, name="saved-view-create"),
    path(
        "queue/views/<id:saved_view_id>/delete/",
        views.saved_view_delete,
        name="saved-view-delete",
    ),
]

#: Mounted in the ``servicedesk`` namespace: a tenant's queue, and the old address of the
#: cross-tenant queue (it redirects there).
desk_urlpatterns = [
    path("tenants/<id:tenant_id>/tickets/", views.tickets, name="tickets"),
    path("tickets/", views.my_queue, name="my-queue"),
]

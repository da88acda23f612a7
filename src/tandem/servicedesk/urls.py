"""Every desk page, by aggregate: ``config/urls.py`` includes this module once.

The ``servicedesk`` namespace holds the ticket, portal and matrix pages (and the old queue
address); the queue and the desk configuration keep their own namespaces.
"""

from django.urls import include, path

from tandem.servicedesk import urls_config, views
from tandem.servicedesk.config import urls as config_urls
from tandem.servicedesk.portal import urls as portal_urls
from tandem.servicedesk.queues import urls as queue_urls
from tandem.servicedesk.tickets import urls as ticket_urls

matrix_urlpatterns = [
    path("tenants/<id:tenant_id>/matrix/", views.matrix, name="matrix"),
    path(
        "tenants/<id:tenant_id>/matrix/rows/new/",
        views.matrix_row_create,
        name="matrix-row-create",
    ),
    path(
        "tenants/<id:tenant_id>/matrix/rows/<id:matrix_row_id>/remove/",
        views.matrix_row_remove,
        name="matrix-row-remove",
    ),
]

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    *queue_urls.desk_urlpatterns,
                    *ticket_urls.urlpatterns,
                    *matrix_urlpatterns,
                    *portal_urls.urlpatterns,
                ],
                "servicedesk",
            )
        ),
    ),
    path("", include(queue_urls)),
    path("", include(([*config_urls.urlpatterns, *urls_config.urlpatterns], "servicedesk_config"))),
]

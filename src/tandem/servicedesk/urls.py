"""Every desk page, by aggregate: ``config/urls.py`` includes this module once.

The ``servicedesk`` namespace holds the ticket and portal pages (and the old queue
address); the queue and the desk configuration keep their own namespaces. The matrix and
coverage pages are the responsibility app's (``responsibility`` namespace).
"""

from django.urls import include, path

from tandem.servicedesk.config import urls as config_urls
from tandem.servicedesk.portal import urls as portal_urls
from tandem.servicedesk.queues import urls as queue_urls
from tandem.servicedesk.tickets import urls as ticket_urls

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    *queue_urls.desk_urlpatterns,
                    *ticket_urls.urlpatterns,
                    *portal_urls.urlpatterns,
                ],
                "servicedesk",
            )
        ),
    ),
    path("", include(queue_urls)),
    path("", include((config_urls.urlpatterns, "servicedesk_config"))),
]

"""The batch endpoint ``/ingest/v1/events`` and the logs pages (ingest sources, event
search, archive retention), in the ``logs`` namespace."""

from django.urls import include, path

from tandem.logs import ingest_views, views

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    path("ingest/v1/events", ingest_views.events, name="ingest-events"),
                    path(
                        "tenants/<id:tenant_id>/ingest-sources/",
                        views.source_list,
                        name="source-list",
                    ),
                    path(
                        "tenants/<id:tenant_id>/ingest-sources/<id:source_id>/device/",
                        views.source_device,
                        name="source-device",
                    ),
                    path(
                        "tenants/<id:tenant_id>/events/",
                        views.event_search,
                        name="event-search",
                    ),
                    path(
                        "tenants/<id:tenant_id>/events/retention/",
                        views.event_retention,
                        name="event-retention",
                    ),
                ],
                "logs",
            )
        ),
    ),
]

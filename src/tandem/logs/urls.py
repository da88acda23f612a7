"""The batch endpoint ``/ingest/v1/events`` and the logs pages, in the ``logs`` namespace."""

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
                ],
                "logs",
            )
        ),
    ),
]

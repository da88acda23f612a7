"""The matrix page and the coverage pages, in the ``responsibility`` namespace. The
addresses are those they had as desk pages: coverage is edited under the desk's
configuration (``/tenants/<id>/desk/coverage/...``)."""

from django.urls import include, path

from tandem.responsibility import views

TENANT = "tenants/<id:tenant_id>/"

urlpatterns = [
    path(
        "",
        include(
            (
                [
                    path(TENANT + "matrix/", views.matrix, name="matrix"),
                    path(
                        TENANT + "matrix/rows/new/",
                        views.matrix_row_create,
                        name="matrix-row-create",
                    ),
                    path(
                        TENANT + "matrix/rows/<id:matrix_row_id>/remove/",
                        views.matrix_row_remove,
                        name="matrix-row-remove",
                    ),
                    path(
                        TENANT + "desk/coverage/new/",
                        views.coverage_create,
                        name="coverage-create",
                    ),
                    path(
                        TENANT + "desk/coverage/<id:coverage_id>/edit/",
                        views.coverage_edit,
                        name="coverage-edit",
                    ),
                    path(
                        TENANT + "desk/coverage/<id:coverage_id>/remove/",
                        views.coverage_remove,
                        name="coverage-remove",
                    ),
                ],
                "responsibility",
            )
        ),
    ),
]

"""Pages of the coverage (part of the responsibility matrix), mounted in the
``servicedesk_config`` namespace by ``servicedesk/urls.py``."""

from django.urls import path

from tandem.servicedesk import views_config
from tandem.servicedesk.config.urls import DESK

urlpatterns = [
    path(DESK + "coverage/new/", views_config.coverage_create, name="coverage-create"),
    path(
        DESK + "coverage/<id:coverage_id>/edit/", views_config.coverage_edit, name="coverage-edit"
    ),
    path(
        DESK + "coverage/<id:coverage_id>/remove/",
        views_config.coverage_remove,
        name="coverage-remove",
    ),
]

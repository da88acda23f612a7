"""URL wiring only: pages per app, the API under /api/v1/, health."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from tandem.config.api import api
from tandem.core.actions import page
from tandem.core.policies import PUBLIC


@page(PUBLIC)
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: answers without touching tenant data."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("health/", health, name="health"),
    path("api/v1/", api.urls),
    path("", include("tandem.accounts.urls")),
    path("", include("tandem.audit.urls")),
    path("", include("tandem.servicedesk.urls")),
    path("", include("tandem.notifications.urls")),
    path("", include("tandem.reports.urls")),
    path("", include("tandem.tenancy.urls")),
]

"""URL wiring only: the API under /api/v1/, health, and the pages of every installed app
(``TandemAppConfig.url_modules``, in ``INSTALLED_APPS`` order)."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from tandem.config.api import api
from tandem.core.actions import page
from tandem.core.policies import PUBLIC
from tandem.core.registry import url_modules


@page(PUBLIC)
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: answers without touching tenant data."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("health/", health, name="health"),
    path("api/v1/", api.urls),
    *(path("", include(module)) for module in url_modules()),
]

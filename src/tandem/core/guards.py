"""Input that no database column can store, refused before any view runs.

PostgreSQL text cannot hold a NUL character: a query-string value with ``%00`` reached a
filter and the database refused it (a server error; SQLite let it through). Django's form
fields refuse NUL already, and ``core.api.Input`` refuses it in API bodies; this middleware
covers query strings for pages and the API alike.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class NulCharacterMiddleware:
    """A query string with a NUL character answers 400 and reaches no view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or "\x00" in value for key, value in _pairs(request)):
            message = "The query string contains a NUL character."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(key, value) for key, values in request.GET.lists() for value in values]

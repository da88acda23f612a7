"""Template context for the top bar: the tenants the principal can switch to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from tandem.tenancy.queries import tenants


def switcher_tenants(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "principal", None)

    def load() -> list[Any]:
        # Evaluated only when a page renders the top bar, inside the request's scope.
        if current is None or not current.is_authenticated:
            return []
        # Links made here, not by a {% url %} per tenant: an MSP technician's menu lists
        # hundreds of tenants on every page.
        link = reverse("tenancy:tenant", args=[0]).replace("/0/", "/{}/")
        return [
            {"pk": pk, "name": name, "url": link.format(pk)}
            for pk, name in tenants(current).values_list("id", "name")
        ]

    return {"switcher_tenants": SimpleLazyObject(load)}

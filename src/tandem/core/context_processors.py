"""Template context shared by every page: the principal and the tenants it can switch to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def principal(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "principal", None)

    def switcher_tenants() -> list[Any]:
        # Evaluated only when a page renders the top bar, inside the request's scope.
        if current is None or not current.is_authenticated:
            return []
        from tandem.tenancy.queries import tenants

        return list(tenants(current).only("id", "name"))

    return {"principal": current, "switcher_tenants": SimpleLazyObject(switcher_tenants)}

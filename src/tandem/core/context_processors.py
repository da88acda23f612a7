"""Template context shared by every page: the acting principal."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def principal(request: HttpRequest) -> dict[str, Any]:
    """The principal the middleware resolved (the tenant switcher's list is tenancy's:
    ``tenancy.context_processors``, core knows no app)."""
    return {"principal": getattr(request, "principal", None)}

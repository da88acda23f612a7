"""Template context shared by every page: the principal and the tenants it can switch to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def principal(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "principal", None)
    return {"principal": current}

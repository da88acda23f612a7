"""Isolation expectations for the dashboards feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

#: Everyone who works tickets for a party in Acme: its IT and every provider engaged there
#: (each over the tickets it may see). Requesters, Globex's owner and the suspended provider
#: get 404.
_ACME_PARTY_PEOPLE = frozenset(
    {
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
    }
)
#: Northwind's own people only.
_NORTHWIND = frozenset({"provider_tech", "provider_admin"})

PAGES: dict[str, frozenset[str]] = {
    "dashboard": _ACME_PARTY_PEOPLE,
    "provider-dashboard": _NORTHWIND,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/dashboard"): _ACME_PARTY_PEOPLE,
    ("GET", "/providers/{provider_id}/dashboard"): _NORTHWIND,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()

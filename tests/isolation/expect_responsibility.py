"""Isolation expectations for the responsibility matrix (merged into expectations.py): its
page, the row and coverage pages, and its API. The same as when they were desk pages.

Reads are for the tenant's IT and the providers engaged by Acme
(``responsibility.view_matrix``; a provider sees the matrix narrowed to its engagement);
every change is for Acme's owner only (``responsibility.change_matrix``).
"""

from __future__ import annotations

from typing import Any

_OWNER = frozenset({"owner"})
#: Acme's IT and every provider with a live engagement at Acme.
_READERS = frozenset(
    {
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
    }
)

PAGES: dict[str, frozenset[str]] = {
    "matrix": _READERS,
    "matrix-row-create": _OWNER,
    "matrix-row-remove": _OWNER,
    "coverage-create": _OWNER,
    "coverage-edit": _OWNER,
    "coverage-remove": _OWNER,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/matrix-rows"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "service_area_id": w["service_area_out_of_scope"],
            "responsible_id": w["internal_party"],
            "accountable_id": w["internal_party"],
        },
    },
    ("DELETE", "/matrix-rows/{matrix_row_id}"): {"allowed": set(_OWNER), "body": None},
    ("POST", "/coverage"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "party_id": w["second_party"],
            "calendar_id": w["nights_calendar"],
            "max_priority": 1,
        },
    },
    ("PATCH", "/coverage/{coverage_id}"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"max_priority": 3},
    },
    ("DELETE", "/coverage/{coverage_id}"): {"allowed": set(_OWNER), "body": None},
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/matrix"): _READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {
    "matrix_row_id": "matrix_row",
    "coverage_id": "coverage",
}

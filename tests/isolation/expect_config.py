"""Isolation expectations for the desk-configuration edits (merged into expectations.py).

Reads are for the tenant's IT and the providers engaged by Acme (``servicedesk.view_matrix``);
a provider reads only its own party's SLA policy and the categories of its service areas.
Every change is for Acme's owner only (``servicedesk.change_matrix``); Globex's owner is the
one allowed to put ``other_sla_policy`` (a retired Globex policy) in force again.
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
#: The world's ``sla_policy`` is Northwind's SLA; the world's ``category`` routes to server
#: patching, which is inside Northwind's engagement and outside Sentinel's and Narrow IT's.
_NORTHWIND_AND_ACME_IT = frozenset({"owner", "internal_tech", "provider_tech", "provider_admin"})

_STATUSES = [
    ["new", "New", "new"],
    ["assigned", "Assigned", "open"],
    ["in-progress", "Working on it", "open"],
    ["waiting-requester", "Waiting on requester", "waiting"],
    ["waiting-third-party", "Waiting on third party", "waiting"],
    ["resolved", "Resolved", "resolved"],
    ["closed", "Closed", "closed"],
    ["reopened", "Reopened", "open"],
]
_FOUR = ["P1", "P2", "P3", "P4"]

PAGES: dict[str, frozenset[str]] = {
    "desk-config": _READERS,
    "calendars": _READERS,
    # A provider's list shows only its own policy (Sentinel and Narrow IT: an empty list).
    "sla-policies": _READERS,
    "categories": _READERS,
    "priority-matrix-edit": _OWNER,
    "statuses-edit": _OWNER,
    "desk-thresholds-edit": _OWNER,
    "mail-senders-edit": _OWNER,
    "calendar-create": _OWNER,
    "calendar-edit": _OWNER,
    "calendar-delete": _OWNER,
    "sla-policy-create": _OWNER,
    "sla-policy-edit": _OWNER,
    # POST-only: 405 for a GET by the owner, 404 for everyone else.
    "sla-policy-activate": _OWNER,
    "sla-policy-deactivate": _OWNER,
    "category-create": _OWNER,
    "category-edit": _OWNER,
    "category-retire": _OWNER,
    "category-reactivate": _OWNER,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/calendars/{calendar_id}"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"name": "Saturday on-call", "holiday_country": "DE"},
    },
    # The spare calendar: nothing uses it (a used one answers 409, see test_config_api.py).
    ("DELETE", "/calendars/{calendar_id}"): {"allowed": set(_OWNER), "body": None},
    ("PATCH", "/sla-policies/{sla_policy_id}"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"warn_at_percent": 75},
    },
    ("POST", "/sla-policies/{sla_policy_id}/activate"): {
        "allowed": {"other_tenant_owner"},
        "target": {"sla_policy_id": "other_sla_policy"},
        "body": None,
    },
    ("POST", "/sla-policies/{sla_policy_id}/deactivate"): {"allowed": set(_OWNER), "body": None},
    ("POST", "/categories"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "name": "Matrix category",
            "service_area_id": w["service_area"],
            "form_fields": [{"name": "asset_tag", "label": "Asset tag", "required": False}],
        },
    },
    ("PATCH", "/categories/{category_id}"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"description": "Servers that misbehave"},
    },
    ("POST", "/categories/{category_id}/retire"): {"allowed": set(_OWNER), "body": None},
    ("POST", "/categories/{category_id}/reactivate"): {
        "allowed": set(_OWNER),
        "target": {"category_id": "retired_category"},
        "body": None,
    },
    ("PUT", "/tenants/{tenant_id}/priority-matrix"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {
            "impacts": ["extensive", "significant", "moderate", "minor"],
            "urgencies": ["critical", "high", "medium", "low"],
            "priorities": _FOUR,
            "grid": [[_FOUR[min(u + i, 3)] for i in range(4)] for u in range(4)],
        },
    },
    ("PUT", "/tenants/{tenant_id}/statuses"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {
            "statuses": [{"key": k, "name": n, "kind": kind} for k, n, kind in _STATUSES]
        },
    },
    ("PUT", "/tenants/{tenant_id}/desk-thresholds"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"urgent_priority_max": 1, "ping_pong_minutes": 60},
    },
    ("PUT", "/tenants/{tenant_id}/mail-senders"): {
        "allowed": set(_OWNER),
        "body": lambda w, p: {"sender_policy": "domains", "mail_domains": ["acme.test"]},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/calendars/{calendar_id}"): _READERS,
    ("GET", "/sla-policies/{sla_policy_id}"): _NORTHWIND_AND_ACME_IT,
    ("GET", "/categories/{category_id}"): _NORTHWIND_AND_ACME_IT,
    ("GET", "/tenants/{tenant_id}/categories"): _READERS,
    ("GET", "/tenants/{tenant_id}/priority-matrix"): _READERS,
    ("GET", "/tenants/{tenant_id}/statuses"): _READERS,
    ("GET", "/tenants/{tenant_id}/desk-thresholds"): _READERS,
    ("GET", "/tenants/{tenant_id}/mail-senders"): _READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {
    "category-reactivate": {"category_id": "retired_category"},
}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {
    "calendar_id": "spare_calendar",
    "sla_policy_id": "sla_policy",
    "category_id": "category",
}

"""Isolation expectations for the queues feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

#: Everyone whose role may read tickets somewhere (the suspended provider's people may not).
_QUEUE_READERS = frozenset(
    {
        "requester",
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
        "other_tenant_owner",
    }
)

PAGES: dict[str, frozenset[str]] = {
    "queue": _QUEUE_READERS,
    "queue-export": _QUEUE_READERS,
    # POST-only: 405 for a GET; what a POST may change is decided per ticket (404/403).
    "queue-bulk": frozenset(),
    "saved-view-create": frozenset(),
    # The world's saved view belongs to the owner: everyone else gets 404 (or 405 for GET).
    "saved-view-delete": frozenset({"owner"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/saved-views"): {
        "allowed": _QUEUE_READERS,
        "body": lambda w, p: {"name": "Breaching", "filters": {"sla": "breached"}},
    },
    # Saved views are personal: only the owner's own view can be deleted.
    ("DELETE", "/saved-views/{saved_view_id}"): {"allowed": {"owner"}, "body": None},
    # Acme's ticket is held by internal IT: only Acme's IT may change it; a provider that
    # sees it (Northwind: in its scope) may not work it; everyone else does not see it.
    ("POST", "/queue/bulk"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"ticket_ids": [w["ticket"]], "action": "priority", "urgency": 1},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/queue"): _QUEUE_READERS,
    ("GET", "/queue/export"): _QUEUE_READERS,
    ("GET", "/saved-views"): _QUEUE_READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {"saved_view_id": "saved_view"}

"""Isolation expectations for the portal feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

_ALL_SIGNED_IN = frozenset(
    {
        "requester",
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
        "other_tenant_owner",
        "suspended_provider_tech",
    }
)
#: Everyone who may open a ticket in Acme (as on the IT "new ticket" page).
_ACME_TICKET_OPENERS = frozenset(
    {
        "requester",
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
    }
)

PAGES: dict[str, frozenset[str]] = {
    # Everyone signed in has a portal page; it lists only their own tickets.
    "portal": _ALL_SIGNED_IN,
    "portal-new": _ACME_TICKET_OPENERS,
    # The requester sees their own ticket; IT people who see it are redirected to the IT page.
    "portal-ticket": frozenset(
        {"requester", "owner", "internal_tech", "provider_tech", "provider_admin"}
    ),
    # POST-only: only the ticket's requester gets past the lookup (everyone else 404/405).
    "portal-reply": frozenset({"requester"}),
    "portal-close": frozenset({"requester"}),
    "portal-rate": frozenset({"requester"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
#: The sign-in link pages are for people who are not signed in yet.
PUBLIC_PAGES: frozenset[str] = frozenset({"login-link", "login-link-use"})

"""Isolation expectations for the extras feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

_ACME_IT = frozenset({"owner", "internal_tech"})
_TICKET_READERS = frozenset(
    {"owner", "internal_tech", "requester", "provider_tech", "provider_admin"}
)

PAGES: dict[str, frozenset[str]] = {
    # The world's file is IT-shared on a ticket held by Acme IT: only Acme's IT reads it.
    # The requester and the providers not involved in the ticket get 404.
    "attachment-download": _ACME_IT,
    # POST-only (405 on GET for those who may comment somewhere, 404 for the rest).
    "ticket-attach": frozenset({"requester", "owner", "internal_tech"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    # Multipart only: the matrix sends JSON, so everyone is refused (422) and nothing is
    # written. The positive cases and the tier rules are in servicedesk/tests/test_extras.py.
    ("POST", "/tickets/{ticket_id}/attachments"): {"allowed": set(), "body": None},
    ("POST", "/tickets/{ticket_id}/merge"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"into_id": w["sentinel_ticket"]},
    },
    ("POST", "/tickets/{ticket_id}/parent"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"parent_id": w["sentinel_ticket"]},
    },
    ("POST", "/tickets/{ticket_id}/tags"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"tags": ["Matrix", "disk"]},
    },
    # The requester already watches the ticket they opened: watching again is refused (422).
    ("POST", "/tickets/{ticket_id}/watch"): {
        "allowed": set(_TICKET_READERS - {"requester"}),
        "body": None,
    },
    ("POST", "/tickets/{ticket_id}/unwatch"): {"allowed": {"requester"}, "body": None},
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tickets/{ticket_id}/attachments"): _TICKET_READERS,
    ("GET", "/attachments/{attachment_id}/download"): _ACME_IT,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {"attachment_id": "attachment"}

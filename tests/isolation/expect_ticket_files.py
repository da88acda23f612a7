"""Isolation expectations for tickets' files, links, tags and watchers (the ticket aggregate's
parts beyond the ticket itself; read by the registry through ServiceDeskConfig)."""

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
    # The ticket page's forms, POST-only. Merge, parent and tags change the ticket: Acme's
    # IT holds it. Watching is reading: everyone who sees the ticket may watch it (a POST
    # without a body from them would watch, so they must be listed; the requester already
    # watches and is refused with 422).
    "ticket-merge": _ACME_IT,
    "ticket-parent": _ACME_IT,
    "ticket-tags": _ACME_IT,
    "ticket-watch": _TICKET_READERS,
    "ticket-unwatch": _TICKET_READERS,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    # Multipart only: the matrix sends JSON, so everyone is refused (422) and nothing is
    # written. The positive cases and the tier rules are in
    # servicedesk/tickets/tests/test_files_and_links.py.
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

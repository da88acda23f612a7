"""Isolation expectations for logging tickets for callers and canned replies (merged into
expectations.py).

Logging a call is for IT people who may work tickets in the tenant: Acme's owner and
internal technician, and Northwind (its engagement allows ``tickets.work``); Sentinel and
Narrow IT may not work tickets, so the page is not theirs.

Canned replies: ``canned_reply`` is Acme's tenant-wide reply (the tenant's IT and every
provider engaged by Acme read it; the tenant's IT keeps it); ``party_canned_reply`` is
Northwind's own (Northwind alone reads and keeps it).
"""

from __future__ import annotations

from typing import Any

_ACME_IT = frozenset({"owner", "internal_tech"})
_NORTHWIND = frozenset({"provider_tech", "provider_admin"})
#: Acme's working IT and every provider with a live engagement at Acme.
_READERS = _ACME_IT | _NORTHWIND | {"out_of_scope_tech", "second_provider_tech"}

PAGES: dict[str, frozenset[str]] = {
    "ticket-log": _ACME_IT | _NORTHWIND,
    "canned-replies": _READERS,
    "canned-reply-create": _READERS,
    # The world's canned reply is tenant-wide: kept by Acme's IT only.
    "canned-reply-edit": _ACME_IT,
    "canned-reply-delete": _ACME_IT,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/canned-replies"): {
        "allowed": set(_READERS),
        "body": lambda w, p: {"tenant_id": w["tenant"], "name": "Matrix reply", "body": "Hi"},
    },
    ("PATCH", "/canned-replies/{canned_reply_id}"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"body": "Hello again"},
    },
    ("DELETE", "/canned-replies/{canned_reply_id}"): {"allowed": set(_ACME_IT), "body": None},
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/canned-replies"): _READERS,
    ("GET", "/canned-replies/{canned_reply_id}"): _READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {"canned_reply_id": "canned_reply"}

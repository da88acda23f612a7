"""Isolation expectations for the test app: Acme's owner and internal technician probe Acme;
Globex's owner holds the permission in Globex only (404 for Acme); everyone else: refused."""

from __future__ import annotations

from typing import Any

_PROBERS = frozenset({"owner", "internal_tech"})

PAGES: dict[str, frozenset[str]] = {"registry-probe": _PROBERS}
WRITES: dict[tuple[str, str], dict[str, Any]] = {}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/registry-probe"): _PROBERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()

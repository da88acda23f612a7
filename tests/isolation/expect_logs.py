"""Isolation expectations for the logs app (merged into expectations.py): a tenant's ingest
sources, listed, made, rotated, disabled and enabled. The world's sources are described in
``tandem.logs.tests.world``.

Managing sources (``logs.manage_sources``) is for Acme's owner and internal IT. Northwind's
admin holds the permission but is engaged for Acme's HQ only, and a source's logs may name
any host of the tenant: it reaches no source (decision 0035). ``/ingest/v1/events`` takes no
session: the ingest token or device credential is checked by the handler
(``tandem.logs.tests.test_ingest``).

Searching Acme's archived events (``logs.search_events``, decision 0045) is for its own IT
and Sentinel (engaged for Acme's security monitoring over the whole tenant); Northwind
(other areas, HQ only), Narrow IT (network, Branch only) and Globex's owner reach nothing.
A security-monitoring engagement narrowed to a site reads only its devices' events:
Watchtower's analyst (HQ only) searches, and the matrix checks that no event of a host
outside HQ reaches it (the world's archived events name a host that is no device);
``tandem.logs.tests.test_event_devices`` narrows Sentinel and checks results, counts and
histograms of the devices in scope. The
retention is read by the searchers and set by Acme's IT. The matrix also checks that every
event an events answer holds is Acme's (``matrix._check_read_content``).
"""

from __future__ import annotations

from typing import Any

_MANAGERS = frozenset({"owner", "internal_tech"})
_SEARCHERS = frozenset({"owner", "internal_tech", "second_provider_tech"})

PAGES: dict[str, frozenset[str]] = {
    "source-list": _MANAGERS,
    # POST only (the device form of the sources page); a GET is 405 for whoever reaches it.
    "source-device": _MANAGERS,
    "event-search": _SEARCHERS,
    "event-retention": _SEARCHERS,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/ingest-sources"): {
        "allowed": set(_MANAGERS),
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "name": "Made in the matrix",
            "kind": "http",
        },
    },
    ("POST", "/ingest-sources/{source_id}/rotate-token"): {"allowed": set(_MANAGERS), "body": None},
    ("POST", "/ingest-sources/{source_id}/disable"): {"allowed": set(_MANAGERS), "body": None},
    ("POST", "/ingest-sources/{source_id}/enable"): {"allowed": set(_MANAGERS), "body": None},
    ("PUT", "/ingest-sources/{source_id}/device"): {
        "allowed": set(_MANAGERS),
        "target": {"source_id": "syslog_source"},
        "body": lambda w, p: {"device_id": w["device"]},
    },
    ("PUT", "/tenants/{tenant_id}/event-archive/settings"): {
        "allowed": set(_MANAGERS),
        "body": lambda w, p: {"retention_days": 30},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/ingest-sources"): _MANAGERS,
    ("GET", "/tenants/{tenant_id}/events"): _SEARCHERS,
    ("GET", "/tenants/{tenant_id}/event-archive/settings"): _SEARCHERS,
}
EXTRA_PARAMS = {"source_id": "ingest_source"}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
#: The batch endpoint: no session counts there (a bearer token or credential only).
PUBLIC_PAGES: frozenset[str] = frozenset({"ingest-events"})

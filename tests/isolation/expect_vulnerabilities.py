"""Isolation expectations for vulnerability findings (merged into expectations.py): the
findings list across tenants and one finding, a tenant's summary and findings, a device's
findings, accepting a risk and reopening, and the pages. The world's findings are described
in ``tandem.vulnerabilities.tests.world``.

A finding is read by whoever sees its device (as patching's update states). Accepting a
finding's risk and reopening it are the tenant's own IT's (decision 0038): a provider that
sees the finding is refused (403), anyone else finds nothing (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

_ALL = frozenset({"finding", "finding_out_of_scope", "other_finding"})
_ACME = _ALL - {"other_finding"}
#: Everyone with the permission in Acme (Narrow IT too: the tenant's pages).
_ACME_READERS = frozenset(
    {
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
    }
)
#: Who sees the world's ``device`` (Acme HQ).
_DEVICE_READERS = frozenset(
    {"owner", "internal_tech", "provider_tech", "provider_admin", "second_provider_tech"}
)
_ACME_IT = frozenset({"owner", "internal_tech"})

OBJECTS: dict[str, tuple[str, ...]] = {
    "finding": ("finding", "finding_out_of_scope", "other_finding")
}
LIST_PATHS: dict[str, str] = {"finding": "/vulnerabilities/findings"}
VIEWERS: dict[str, frozenset[str]] = {"finding": _ACME_READERS | {"other_tenant_owner"}}
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": _ALL,
    "requester": _ALL,
    "suspended_provider_tech": _ALL,
    "owner": frozenset({"other_finding"}),
    "internal_tech": frozenset({"other_finding"}),
    "provider_tech": frozenset({"finding_out_of_scope"}),
    "provider_admin": frozenset({"finding_out_of_scope"}),
    "out_of_scope_tech": frozenset({"finding", "other_finding"}),
    "second_provider_tech": frozenset({"other_finding"}),
    "other_tenant_owner": _ACME,
}

PAGES: dict[str, frozenset[str]] = {
    "vuln-dashboard": _ACME_READERS,
    "vuln-findings": _ACME_READERS,
    "vuln-findings-csv": _ACME_READERS,
    "vuln-finding": _DEVICE_READERS,
    # POST only: a GET answers 405 to whoever may accept risks anywhere.
    "vuln-accept-risk": _ACME_IT | {"other_tenant_owner"},
    "vuln-reopen": _ACME_IT | {"other_tenant_owner"},
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/vulnerabilities/findings/{finding_id}/accept-risk"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {
            "reason": "Compensating control: not reachable from outside",
            "expires_at": (timezone.now() + dt.timedelta(days=30)).isoformat(),
        },
    },
    ("POST", "/vulnerabilities/findings/{finding_id}/reopen"): {
        "allowed": set(_ACME_IT),
        "target": {"finding_id": "accepted_finding"},
        "body": None,
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/vulnerabilities/tenants/{tenant_id}/summary"): _ACME_READERS,
    ("GET", "/vulnerabilities/tenants/{tenant_id}/findings"): _ACME_READERS,
    ("GET", "/vulnerabilities/tenants/{tenant_id}/findings.csv"): _ACME_READERS,
    ("GET", "/vulnerabilities/devices/{device_id}/findings"): _DEVICE_READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()

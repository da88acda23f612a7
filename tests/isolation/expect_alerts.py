"""Isolation expectations for alerts (merged into expectations.py; decision 0037). The
world's alerts are described in ``tandem.alerts.tests.world``.

An alert is read by the tenant's own IT and by providers whose engagement covers the
tenant's security monitoring area (Sentinel at Acme); a provider engaged for other work
(Northwind, Narrow IT) reaches none, although Northwind sees the alert's device.
Watchtower, engaged for security monitoring at HQ only, reads the HQ device's alert and not
the one on a host that is no device (``expectations.NARROWED_OUT_OF_SCOPE``). Triage
needs the engagement to allow ``security.triage``, which Sentinel's does not: Acme's IT
triages. Suppressions and the dedup window are changed by Acme's IT here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

_ALL = frozenset({"alert", "alert_unplaced", "other_alert"})
_ACME = _ALL - {"other_alert"}

OBJECTS: dict[str, tuple[str, ...]] = {"alert": ("alert", "alert_unplaced", "other_alert")}
LIST_PATHS: dict[str, str] = {"alert": "/alerts"}
#: Everyone holding the alert permission somewhere (a provider's technicians and admins
#: hold it by role; what they see is narrowed per row).
_HOLDERS = frozenset(
    {
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
        "other_tenant_owner",
    }
)
VIEWERS: dict[str, frozenset[str]] = {"alert": _HOLDERS}
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": _ALL,
    "requester": _ALL,
    "suspended_provider_tech": _ALL,
    "owner": frozenset({"other_alert"}),
    "internal_tech": frozenset({"other_alert"}),
    "provider_tech": _ALL,
    "provider_admin": _ALL,
    "out_of_scope_tech": _ALL,
    "second_provider_tech": frozenset({"other_alert"}),
    "other_tenant_owner": _ACME,
}
EXTRA_PARAMS: dict[str, str] = {"suppression_id": "suppression"}

#: Who opens Acme's alert pages: its IT and Sentinel.
_ACME_ALERTS = frozenset({"owner", "internal_tech", "second_provider_tech"})
_ACME_IT = {"owner", "internal_tech"}
#: Who holds triage or suppression somewhere: POST-only pages answer them 405 to a GET.
_TRIAGERS_ANYWHERE = _HOLDERS
_SUPPRESSORS_ANYWHERE = frozenset(
    {"owner", "internal_tech", "provider_admin", "other_tenant_owner"}
)

PAGES: dict[str, frozenset[str]] = {
    "alert-queue": _HOLDERS,
    "tenant-alerts": _ACME_ALERTS,
    "alert-suppressions": _ACME_ALERTS,
    "alert": _ACME_ALERTS,
    "alert-acknowledge": _TRIAGERS_ANYWHERE,
    "alert-false-positive": _TRIAGERS_ANYWHERE,
    "alert-resolve": _TRIAGERS_ANYWHERE,
    "alert-suppress": _SUPPRESSORS_ANYWHERE,
    "alert-suppression-lift": _SUPPRESSORS_ANYWHERE,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/alerts/{alert_id}/acknowledge"): {"allowed": set(_ACME_IT), "body": None},
    ("POST", "/alerts/{alert_id}/false-positive"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"reason": f"Admin script of {p}"},
    },
    ("POST", "/alerts/{alert_id}/resolve"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"note": "Contained", "resolve_ticket": True},
    },
    ("POST", "/alerts/tenants/{tenant_id}/suppressions"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {
            "rule_id": f"rule-of-{p}",
            "reason": "Known backup job",
            "expires_at": (timezone.now() + dt.timedelta(days=3)).isoformat(),
        },
    },
    ("POST", "/alerts/suppressions/{suppression_id}/lift"): {
        "allowed": set(_ACME_IT),
        "body": None,
    },
    ("PUT", "/alerts/tenants/{tenant_id}/settings"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"dedup_window_minutes": 45},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/alerts/tenants/{tenant_id}/suppressions"): _ACME_ALERTS,
    ("GET", "/alerts/tenants/{tenant_id}/settings"): _ACME_ALERTS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
#: Alert titles must never appear on a page for a persona that may not see the alert.
LEAK_MODELS: dict[str, str] = {"alert": "alerts.Alert"}

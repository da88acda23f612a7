"""Isolation expectations for patching (merged into expectations.py): a tenant's summary,
policies and pages, a device's updates and effective policy, decisions on a device's
updates, the approval queue across tenants, and policy, window and ring changes.

Reading follows the device (decision 0026) for update states and the tenant for its
patching pages. Changing policies, windows and rings is the tenant's own IT's. Deciding a
device's updates needs ``patching.approve_updates`` *and* acting for the party the
responsibility matrix names: the world's matrix has no row for the patching area (none is
chosen, and no area is keyed ``patching``), so the tenant's internal IT (triage) approves,
and Northwind's people are refused although they see the device.
"""

from __future__ import annotations

from typing import Any

from tandem.patching.tests.support import missing_entry

#: Everyone with the patching permission in Acme (Narrow IT too: the tenant's pages).
_ACME = frozenset(
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
#: Who holds the approval permission somewhere (the queue is theirs, possibly empty).
_APPROVERS_ANYWHERE = _ACME | {"other_tenant_owner"}
_ACME_IT = {"owner", "internal_tech"}
_CHANGERS_ANYWHERE = frozenset(_ACME_IT | {"other_tenant_owner"})

PAGES: dict[str, frozenset[str]] = {
    "patch-dashboard": _ACME,
    "patch-policies": _ACME,
    "patch-approvals": _APPROVERS_ANYWHERE,
    # POST only: a GET answers 405 to whoever holds the permission anywhere.
    "device-updates-decide": _APPROVERS_ANYWHERE,
    # Compliance (decision 0033): the tenant's page and CSV follow the tenant; the summary
    # lists whatever tenants the reader reads patching in (possibly none of Acme's).
    "patch-compliance": _ACME,
    "patch-compliance-csv": _ACME,
    "patch-compliance-summary": _APPROVERS_ANYWHERE,
    # POST only: a GET answers 405 to whoever may change patching settings anywhere.
    "patch-compliance-settings": _CHANGERS_ANYWHERE,
    # Editing a level's policy is the tenant's own IT's; adding a window or a ring is POST
    # only (a GET answers 405 to whoever may change patching settings anywhere).
    "patch-policy-edit": frozenset(_ACME_IT),
    "patch-window-create": _CHANGERS_ANYWHERE,
    "patch-ring-create": _CHANGERS_ANYWHERE,
    # Deleting the world's unused window or ring: POST only, the tenant's own IT.
    "patch-window-delete": frozenset(_ACME_IT),
    "patch-ring-delete": frozenset(_ACME_IT),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/patching/devices/{device_id}/decisions"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"entry_ids": [missing_entry(w)], "approve": True},
    },
    ("PUT", "/patching/tenants/{tenant_id}/policies"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"level": "tenant", "settings": {"security_critical": "auto"}},
    },
    ("POST", "/patching/tenants/{tenant_id}/windows"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {
            "name": f"Saturday nights {p}",
            "rrule": "FREQ=WEEKLY;BYDAY=SA",
            "first_start": "2031-01-04T22:00:00",
            "time_zone": "Europe/Berlin",
            "duration_minutes": 240,
        },
    },
    ("PUT", "/patching/tenants/{tenant_id}/compliance-settings"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"preset": "custom", "days": 21},
    },
    ("POST", "/patching/tenants/{tenant_id}/rings"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"name": f"Pilot {p}", "deferral_days": 2},
    },
    # Deleting a window or a ring no policy uses (the world's, in Acme): the tenant's IT.
    ("DELETE", "/patching/tenants/{tenant_id}/windows/{window_id}"): {
        "allowed": set(_ACME_IT),
        "body": None,
    },
    ("DELETE", "/patching/tenants/{tenant_id}/rings/{ring_id}"): {
        "allowed": set(_ACME_IT),
        "body": None,
    },
}
EXTRA_PARAMS = {"window_id": "patch_window", "ring_id": "patch_ring"}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/patching/tenants/{tenant_id}/summary"): _ACME,
    ("GET", "/patching/tenants/{tenant_id}/policies"): _ACME,
    ("GET", "/patching/devices/{device_id}/updates"): _DEVICE_READERS,
    ("GET", "/patching/devices/{device_id}/effective-policy"): _DEVICE_READERS,
    ("GET", "/patching/approvals"): _APPROVERS_ANYWHERE,
    ("GET", "/patching/tenants/{tenant_id}/compliance"): _ACME,
    ("GET", "/patching/tenants/{tenant_id}/compliance.csv"): _ACME,
    ("GET", "/patching/tenants/{tenant_id}/compliance-settings"): _ACME,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()

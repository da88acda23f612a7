"""Isolation expectations for devices (merged into expectations.py): the device list and
detail of the API, their changes, and the device pages. The world's devices are described
in ``tandem.assets.tests.world``.

A device is read by the tenant's own IT (all of the tenant's) and by providers inside their
engagement's sites and asset groups; requesters and a suspended provider see none. Changes
are for the tenant's IT and a provider's admin within scope (technicians only read).
"""

from __future__ import annotations

from typing import Any

_ALL = frozenset({"device", "device_out_of_scope", "device_unplaced", "other_device"})
_ACME = _ALL - {"other_device"}

OBJECTS: dict[str, tuple[str, ...]] = {
    "device": ("device", "device_out_of_scope", "device_unplaced", "other_device"),
}
LIST_PATHS: dict[str, str] = {"device": "/devices"}
#: Who reads devices at all (others get 403 from the API, 404 from pages).
VIEWERS: dict[str, frozenset[str]] = {
    "device": frozenset(
        {
            "owner",
            "internal_tech",
            "provider_tech",
            "provider_admin",
            "out_of_scope_tech",
            "second_provider_tech",
            "other_tenant_owner",
        }
    ),
}
#: Added to each persona's forbidden names.
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": _ALL,
    "requester": _ALL,
    "suspended_provider_tech": _ALL,
    "owner": frozenset({"other_device"}),
    "internal_tech": frozenset({"other_device"}),
    # Northwind: Acme's HQ site, all of Globex.
    "provider_tech": frozenset({"device_out_of_scope", "device_unplaced"}),
    "provider_admin": frozenset({"device_out_of_scope", "device_unplaced"}),
    # Narrow IT: Acme's Branch site only.
    "out_of_scope_tech": frozenset({"device", "device_unplaced", "other_device"}),
    # Sentinel: all of Acme.
    "second_provider_tech": frozenset({"other_device"}),
    "other_tenant_owner": _ACME,
}
#: Device names must never appear on a page for a persona that may not see the device.
LEAK_MODELS: dict[str, str] = {"device": "assets.Device"}

_CHANGERS = {"owner", "internal_tech", "provider_admin"}
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

PAGES: dict[str, frozenset[str]] = {
    "devices": _ACME_READERS,
    "all-devices": _ACME_READERS | {"other_tenant_owner"},
    "device": frozenset(
        {"owner", "internal_tech", "provider_tech", "provider_admin", "second_provider_tech"}
    ),
    "device-edit": frozenset(_CHANGERS),
    "device-retire": frozenset(_CHANGERS),
    # The desk's: a ticket's devices, set from the ticket page by whoever changes the ticket.
    "ticket-devices": frozenset({"owner", "internal_tech"}),
    # The tenant's offline alert policy: its own IT only (decision 0032).
    "offline-alerts": frozenset({"owner", "internal_tech"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/devices/{device_id}"): {
        "allowed": set(_CHANGERS),
        "body": lambda w, p: {"name": "Renamed in the matrix"},
    },
    ("POST", "/devices/{device_id}/retire"): {"allowed": set(_CHANGERS), "body": None},
    # Offline alerts: the tenant's own IT only; a provider (even its admin) never.
    ("PUT", "/tenants/{tenant_id}/offline-alert-policy"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"enabled": True, "minutes": 45},
    },
    ("DELETE", "/offline-alert-policies/{offline_policy_id}"): {
        "allowed": {"owner", "internal_tech"},
        "body": None,
    },
    # The desk's: the world's ticket names Acme's three devices; this keeps only one.
    ("PUT", "/tickets/{ticket_id}/devices"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"device_ids": [w["device"]]},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/offline-alert-policies"): frozenset({"owner", "internal_tech"}),
    # Whoever reads the ticket; each sees the devices it may see (a requester: none).
    ("GET", "/tickets/{ticket_id}/devices"): frozenset(
        {"owner", "internal_tech", "requester", "provider_tech", "provider_admin"}
    ),
    # Whoever sees the device; each sees the tickets it may see.
    ("GET", "/devices/{device_id}/tickets"): frozenset(
        {"owner", "internal_tech", "provider_tech", "provider_admin", "second_provider_tech"}
    ),
}
EXTRA_PARAMS = {"offline_policy_id": "offline_policy"}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()

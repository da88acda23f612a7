"""Isolation expectations for the agents app (merged into expectations.py): enrolment
tokens, device credentials and device inventories. The world's tokens are described in
``tandem.agents.tests.world``.

Enrolment (``agents.manage_enrolment``) is for Acme's owner and internal IT and for a
provider's admin within its engagement's sites (Northwind: HQ). A device's inventory is
read by whoever sees the device (``assets.view_device``; the world's ``device`` is at HQ).
The ``/agent/v1/`` endpoints take no session: the enrolment token or the device credential
is checked by the handler (``tandem.agents.tests.test_agent_isolation``).
"""

from __future__ import annotations

from typing import Any

_MANAGERS = frozenset({"owner", "internal_tech", "provider_admin"})
#: Who sees the world's ``device`` (Acme HQ).
_DEVICE_READERS = frozenset(
    {"owner", "internal_tech", "provider_tech", "provider_admin", "second_provider_tech"}
)

PAGES: dict[str, frozenset[str]] = {
    "token-list": _MANAGERS,
    "token-revoke": _MANAGERS,
    "device-inventory": _DEVICE_READERS,
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/enrolment-tokens"): {
        "allowed": set(_MANAGERS),
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "name": "Made in the matrix",
            "site_id": w["site"],
        },
    },
    ("POST", "/enrolment-tokens/{enrolment_token_id}/revoke"): {
        "allowed": set(_MANAGERS),
        "body": None,
    },
    ("POST", "/devices/{device_id}/credential/rotate"): {"allowed": set(_MANAGERS), "body": None},
    ("POST", "/devices/{device_id}/credential/revoke"): {
        "allowed": set(_MANAGERS),
        "body": lambda w, p: {"reason": "Laptop lost in the matrix"},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/tenants/{tenant_id}/enrolment-tokens"): _MANAGERS,
    ("GET", "/devices/{device_id}/software"): _DEVICE_READERS,
    ("GET", "/devices/{device_id}/pending-updates"): _DEVICE_READERS,
    ("GET", "/devices/{device_id}/software-changes"): _DEVICE_READERS,
}
EXTRA_PARAMS = {"enrolment_token_id": "enrolment_token"}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
#: The agent's protocol: no session counts there (POST only, a token or credential each).
PUBLIC_PAGES: frozenset[str] = frozenset({"agent-enrol", "agent-check-in"})

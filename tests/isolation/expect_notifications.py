"""Isolation expectations for the notifications feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

_ALL_SIGNED_IN = frozenset(
    {
        "requester",
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
        "other_tenant_owner",
        "suspended_provider_tech",
    }
)
#: Tenant owners manage webhooks; Globex's owner reaches the list (empty for it) but never
#: Acme's webhook.
_WEBHOOK_MANAGERS = frozenset({"owner", "other_tenant_owner"})

#: The world's notification belongs to Acme's auditor, who is no persona: every persona must
#: get 404 for it (the positive case is in src/tandem/notifications/tests/).
PAGES: dict[str, frozenset[str]] = {
    "notifications": _ALL_SIGNED_IN,
    "notifications-read-all": _ALL_SIGNED_IN,
    "notification-read": frozenset(),
    # Everyone's own e-mail preferences.
    "notification-preferences": _ALL_SIGNED_IN,
    # Acme's webhooks and mail review: Acme's owner only. Globex's owner holds the same
    # permissions in Globex and must get 404 for Acme's pages.
    "webhooks": frozenset({"owner"}),
    "webhook": frozenset({"owner"}),
    "webhook-disable": frozenset({"owner"}),
    "mail-review": frozenset({"owner"}),
    "mail-review-raw": frozenset({"owner"}),
    "mail-review-retry": frozenset({"owner"}),
    "mail-review-inbound-retry": frozenset({"owner"}),
    "mail-review-inbound-accept": frozenset({"owner"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/notifications/{notification_id}/read"): {"allowed": set(), "body": None},
    ("POST", "/webhooks"): {
        "allowed": {"owner"},
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "url": "https://hooks.acme.test/matrix",
            "events": ["handoff", "sla_breach"],
        },
    },
    ("POST", "/webhooks/{webhook_id}/disable"): {"allowed": {"owner"}, "body": None},
    # Acme's kept mail (a stranger's): Acme's owner retries or accepts it; nobody else
    # learns it exists.
    ("POST", "/tenants/{tenant_id}/inbound-mail/{inbound_id}/retry"): {
        "allowed": {"owner"},
        "body": None,
    },
    ("POST", "/tenants/{tenant_id}/inbound-mail/{inbound_id}/accept"): {
        "allowed": {"owner"},
        "body": None,
    },
    # One's own setting: everyone signed in changes it (and it is audited).
    ("PUT", "/me/notification-preferences"): {
        "allowed": set(_ALL_SIGNED_IN),
        "body": lambda w, p: {"email": {"sla_warning": False}},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/notifications"): _ALL_SIGNED_IN,
    ("GET", "/webhooks"): _WEBHOOK_MANAGERS,
    ("GET", "/webhooks/{webhook_id}/deliveries"): frozenset({"owner"}),
    ("GET", "/me/notification-preferences"): _ALL_SIGNED_IN,
    ("GET", "/tenants/{tenant_id}/inbound-mail"): frozenset({"owner"}),
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
#: Path parameters of these endpoints and the world objects that fill them.
EXTRA_PARAMS: dict[str, str] = {
    "webhook_id": "webhook",
    "notification_id": "notification",
    # An e-mail to Acme's desk kept as ignored, and a notice to Sentinel the relay refused.
    "inbound_id": "inbound_mail",
    "outbound_id": "outbound_mail",
}

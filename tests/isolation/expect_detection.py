"""Isolation expectations for detection rules (merged into expectations.py; decision 0044).
The world's rules are described in ``tandem.detection.tests.world``.

A tenant's rules are read by its own IT and by providers whose engagement covers the
tenant's security monitoring area (Sentinel at Acme); a provider engaged for other work
(Northwind, Narrow IT) reaches none. Changing them needs the engagement to allow
``security.rules``, which Sentinel's does not: Acme's IT changes them. The installed packs
are the same for everyone holding the permission.
"""

from __future__ import annotations

from typing import Any

from tandem.detection.tests.world import DISABLED_RULE, ENABLED_RULE, custom_yaml

_ALL = frozenset({"custom_rule", "other_custom_rule", "placeholder_list", "other_placeholder_list"})
_GLOBEX = frozenset({"other_custom_rule", "other_placeholder_list"})
_ACME = _ALL - _GLOBEX

OBJECTS: dict[str, tuple[str, ...]] = {
    "custom_rule": ("custom_rule", "other_custom_rule"),
    "placeholder_list": ("placeholder_list", "other_placeholder_list"),
}
LIST_PATHS: dict[str, str] = {
    "custom_rule": "/custom-rules",
    "placeholder_list": "/placeholder-lists",
}
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
VIEWERS: dict[str, frozenset[str]] = {"custom_rule": _HOLDERS, "placeholder_list": _HOLDERS}
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": _ALL,
    "requester": _ALL,
    "suspended_provider_tech": _ALL,
    "owner": _GLOBEX,
    "internal_tech": _GLOBEX,
    "provider_tech": _ALL,
    "provider_admin": _ALL,
    "out_of_scope_tech": _ALL,
    "second_provider_tech": _GLOBEX,
    "other_tenant_owner": _ACME,
}
EXTRA_PARAMS: dict[str, str] = {"pack_id": "rule_pack"}

_ACME_RULES = frozenset({"owner", "internal_tech", "second_provider_tech"})
_ACME_IT = {"owner", "internal_tech"}
#: Who holds the change permission somewhere: POST-only pages answer them 405 to a GET.
_CHANGERS_ANYWHERE = frozenset({"owner", "internal_tech", "provider_admin", "other_tenant_owner"})

PAGES: dict[str, frozenset[str]] = {
    "rule-packs": _HOLDERS,
    "rule-pack": _HOLDERS,
    "tenant-rules": _ACME_RULES,
    "custom-rule": _ACME_RULES,
    "tenant-pack-toggle": _CHANGERS_ANYWHERE,
    "tenant-rule-toggle": _CHANGERS_ANYWHERE,
    "custom-upload": _CHANGERS_ANYWHERE,
    "custom-rule-edit": _CHANGERS_ANYWHERE,
    "custom-rule-toggle": _CHANGERS_ANYWHERE,
    "custom-rule-delete": _CHANGERS_ANYWHERE,
    "placeholder-list": _ACME_RULES,
    "placeholder-list-add": _CHANGERS_ANYWHERE,
    "placeholder-list-edit": _CHANGERS_ANYWHERE,
    "placeholder-list-delete": _CHANGERS_ANYWHERE,
}


def _new_rule(world: Any, persona: str) -> dict[str, str]:
    return {
        "source": custom_yaml("0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a00ff", f"Rule of {persona}"),
        "file_name": "mine.yml",
    }


WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/tenants/{tenant_id}/rule-packs/{pack_id}"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"enabled": False, "reason": "Too noisy here"},
    },
    ("POST", "/tenants/{tenant_id}/rules/disable"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"rule_id": ENABLED_RULE, "reason": "Root logs in by key only"},
    },
    ("POST", "/tenants/{tenant_id}/rules/enable"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"rule_id": DISABLED_RULE},
    },
    ("POST", "/tenants/{tenant_id}/custom-rules"): {"allowed": set(_ACME_IT), "body": _new_rule},
    # Multipart only: a JSON body is refused for everyone.
    ("POST", "/tenants/{tenant_id}/custom-rules/upload"): {"allowed": set(), "body": None},
    ("PUT", "/custom-rules/{custom_rule_id}"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {
            "source": custom_yaml(
                "0b8c3a52-1f0e-4a34-9d8e-5b1b7c1a0001", "Acme world custom rule", "edited"
            )
        },
    },
    ("POST", "/custom-rules/{custom_rule_id}/disable"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"reason": "Noisy"},
    },
    ("POST", "/custom-rules/{custom_rule_id}/enable"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {},
        "target": {"custom_rule_id": "custom_rule_off"},
    },
    ("DELETE", "/custom-rules/{custom_rule_id}"): {"allowed": set(_ACME_IT), "body": None},
    ("POST", "/tenants/{tenant_id}/placeholder-lists"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"name": f"dcs_of_{p}", "values": ["dc-01.acme.test"]},
    },
    ("PUT", "/placeholder-lists/{placeholder_list_id}"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"values": ["dc-02.acme.test"]},
    },
    ("DELETE", "/placeholder-lists/{placeholder_list_id}"): {
        "allowed": set(_ACME_IT),
        "body": None,
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/rule-packs"): _HOLDERS,
    ("GET", "/rule-packs/{pack_id}"): _HOLDERS,
    ("GET", "/rule-packs/{pack_id}/rules"): _HOLDERS,
    ("GET", "/tenants/{tenant_id}/detection-rules"): _ACME_RULES,
    ("GET", "/tenants/{tenant_id}/disabled-rules"): _ACME_RULES,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
LEAK_MODELS: dict[str, str] = {
    "custom_rule": "detection.CustomRule",
    "placeholder_list": "detection.PlaceholderList",
}

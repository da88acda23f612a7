"""What each persona must and must not reach: the isolation matrix's independent truth.

Nothing here is derived from the policies under test. If a policy is loosened or removed,
the matrix compares what the server does against these tables and fails.
"""

from __future__ import annotations

import importlib

from tandem.core.registry import isolation_expectations

ALL_SIGNED_IN = frozenset(
    {
        "requester",
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
        "narrowed_monitoring_tech",
        "other_tenant_owner",
        "suspended_provider_tech",
    }
)

#: World objects by type. Each type's detail endpoints take ``<type>_id``.
OBJECTS: dict[str, tuple[str, ...]] = {
    "tenant": ("tenant", "other_tenant"),
    "site": ("site", "site_out_of_scope", "other_site"),
    "asset_group": ("asset_group", "asset_group_out_of_scope", "other_asset_group"),
    "service_area": ("service_area", "service_area_out_of_scope", "other_service_area"),
    "engagement": (
        "engagement",
        "second_engagement",
        "narrow_engagement",
        "suspended_engagement",
        "pending_engagement",
        "other_engagement",
    ),
    "party": ("party", "internal_party", "second_party", "other_party"),
    "membership": ("membership", "other_membership", "provider_membership"),
    "ticket": ("ticket", "sentinel_ticket", "other_ticket"),
}

#: The collection path of each type, for list endpoints.
LIST_PATHS: dict[str, str] = {
    "tenant": "/tenants",
    "site": "/sites",
    "asset_group": "/asset-groups",
    "service_area": "/service-areas",
    "engagement": "/engagements",
    "party": "/parties",
    "membership": "/memberships",
    "ticket": "/tickets",
}

_A = {
    "tenant",
    "site",
    "site_out_of_scope",
    "asset_group",
    "asset_group_out_of_scope",
    "service_area",
    "service_area_out_of_scope",
    "engagement",
    "second_engagement",
    "narrow_engagement",
    "suspended_engagement",
    "pending_engagement",
    "party",
    "internal_party",
    "second_party",
    "membership",
    "ticket",
    "sentinel_ticket",
}
_B = {
    "other_tenant",
    "other_site",
    "other_asset_group",
    "other_service_area",
    "other_engagement",
    "other_party",
    "other_membership",
    "other_ticket",
}

#: Who may read each type at all (others get 403 from the API, 404 from pages).
VIEWERS: dict[str, frozenset[str]] = {
    "tenant": ALL_SIGNED_IN - {"suspended_provider_tech"},
    "site": ALL_SIGNED_IN - {"requester", "suspended_provider_tech"},
    "asset_group": ALL_SIGNED_IN - {"requester", "suspended_provider_tech"},
    "service_area": ALL_SIGNED_IN - {"requester", "suspended_provider_tech"},
    # A suspended provider still sees its own (suspended) engagement row, nothing else.
    "engagement": ALL_SIGNED_IN - {"requester"},
    "party": ALL_SIGNED_IN - {"requester", "suspended_provider_tech"},
    # Tenant owners and internal IT manage tenant people; provider admins their own staff.
    "membership": frozenset({"owner", "internal_tech", "provider_admin", "other_tenant_owner"}),
    # Requesters see their own tickets; providers those in their engagement's scope.
    "ticket": ALL_SIGNED_IN - {"suspended_provider_tech"},
}

_NORTHWIND_BLIND = {
    # Northwind is engaged by Acme for HQ only (server patching, backup) and by all of
    # Globex (tier-1 desk, which is exactly other_service_area).
    "site_out_of_scope",
    "asset_group_out_of_scope",
    "service_area_out_of_scope",
    "second_engagement",
    "narrow_engagement",
    "suspended_engagement",
    "pending_engagement",
    "second_party",
    "membership",
    "other_membership",
    "sentinel_ticket",
}

#: What each persona must never see, whatever the endpoint: the heart of the matrix.
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": frozenset(_A | _B | {"provider_membership"}),
    "requester": frozenset((_A | _B | {"provider_membership"}) - {"tenant", "ticket"}),
    "owner": frozenset(_B | {"provider_membership"}),
    "internal_tech": frozenset(_B | {"provider_membership"}),
    "provider_tech": frozenset(_NORTHWIND_BLIND | {"provider_membership"}),
    "provider_admin": frozenset(_NORTHWIND_BLIND),
    # Narrow IT: Acme's Branch site only, network only; not engaged by Globex.
    "out_of_scope_tech": frozenset(
        (_A | _B | {"provider_membership"})
        - {
            "tenant",
            "site_out_of_scope",
            "asset_group_out_of_scope",
            "narrow_engagement",
            "internal_party",
        }
    ),
    # Sentinel: all of Acme, security monitoring only; not engaged by Globex.
    "second_provider_tech": frozenset(
        _B
        | {
            "service_area",
            "service_area_out_of_scope",
            "engagement",
            "narrow_engagement",
            "suspended_engagement",
            "pending_engagement",
            "party",
            "membership",
            "provider_membership",
            "ticket",
        }
    ),
    "other_tenant_owner": frozenset(_A | {"provider_membership"}),
    # Lapsed Co's engagement is suspended: only that engagement's own row (which names its
    # tenant) stays visible.
    "suspended_provider_tech": frozenset(
        (_A | _B | {"provider_membership"}) - {"suspended_engagement", "tenant"}
    ),
}

# --- Writes ---------------------------------------------------------------------------------
#: For every write operation: who succeeds, which world object the path targets, and a valid
#: body. Every other persona must be refused (401 anonymous; 403, 404 or 422) and nothing may
#: be written. A new write endpoint fails the meta-test until it is listed here.
Body = dict
_ACME_IT = {"owner", "internal_tech"}
_TENANT_A_PEOPLE = {
    "requester",
    "owner",
    "internal_tech",
    "provider_tech",
    "provider_admin",
    "out_of_scope_tech",
    "second_provider_tech",
}
_TICKET_READERS = frozenset(
    {"owner", "internal_tech", "requester", "provider_tech", "provider_admin"}
)

WRITES: dict[tuple[str, str], dict] = {
    ("POST", "/tenants"): {
        "allowed": set(),
        "body": lambda w, p: {"name": "New Co", "slug": "new-co"},
    },
    ("PATCH", "/tenants/{tenant_id}"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"country": "DE"},
    },
    ("POST", "/providers"): {
        "allowed": set(),
        "body": lambda w, p: {"name": "New MSP", "slug": "new-msp"},
    },
    ("PATCH", "/providers/{provider_id}"): {
        "allowed": {"provider_admin"},
        "body": lambda w, p: {"require_mfa": True},
    },
    ("POST", "/engagements"): {
        "allowed": {"owner"},
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "provider_id": w["unengaged_provider"],
            "name": "Second deal",
            "service_area_ids": [w["service_area"]],
        },
    },
    ("PATCH", "/engagements/{engagement_id}"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"allowed_actions": ["tickets.work"]},
    },
    ("POST", "/engagements/{engagement_id}/accept"): {
        # Positive case in tests/test_engagements.py: only the engaged provider's admin.
        "allowed": set(),
        "target": {"engagement_id": "pending_engagement"},
        "body": None,
    },
    ("POST", "/engagements/{engagement_id}/suspend"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"reason": "Audit finding"},
    },
    ("POST", "/engagements/{engagement_id}/resume"): {
        "allowed": {"owner"},
        "target": {"engagement_id": "suspended_engagement"},
        "body": lambda w, p: {"reason": "Review done"},
    },
    ("POST", "/engagements/{engagement_id}/end"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"reason": "Contract over"},
    },
    ("POST", "/sites"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"tenant_id": w["tenant"], "name": "New site"},
    },
    ("PATCH", "/sites/{site_id}"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"address": "1 Main St"},
    },
    ("POST", "/asset-groups"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"tenant_id": w["tenant"], "name": "New group"},
    },
    ("PATCH", "/asset-groups/{asset_group_id}"): {
        "allowed": {"owner", "internal_tech"},
        "body": lambda w, p: {"description": "Racks 1-4"},
    },
    ("POST", "/service-areas"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"tenant_id": w["tenant"], "key": "erp", "name": "ERP support"},
    },
    ("PATCH", "/service-areas/{service_area_id}"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"description": "Patch Tuesday and more"},
    },
    ("POST", "/memberships"): {
        "allowed": {"owner"},
        "body": lambda w, p: {
            "email": "new.person@acme.test",
            "role_key": "requester",
            "tenant_id": w["tenant"],
        },
    },
    ("POST", "/memberships/{membership_id}/deactivate"): {"allowed": {"owner"}, "body": None},
    ("PATCH", "/memberships/{membership_id}"): {
        "allowed": {"owner"},
        "body": lambda w, p: {"role_key": "auditor"},
    },
    ("POST", "/tokens"): {
        "allowed": set(ALL_SIGNED_IN),
        "body": lambda w, p: {
            "name": "matrix token",
            "membership_id": w.ids.get(f"membership:{p}", w["membership"]),
        },
    },
    ("POST", "/tokens/{token_id}/revoke"): {"allowed": {"owner"}, "body": None},
    ("POST", "/tickets"): {
        "allowed": _TENANT_A_PEOPLE,
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "subject": "Matrix ticket",
            "service_area_id": w["service_area"],
        },
    },
    ("POST", "/tickets/{ticket_id}/status"): {
        "allowed": _ACME_IT,
        "body": lambda w, p: {"status": "in-progress"},
    },
    ("POST", "/tickets/{ticket_id}/priority"): {
        "allowed": _ACME_IT,
        "body": lambda w, p: {"impact": 1},
    },
    ("POST", "/tickets/{ticket_id}/handoff"): {
        "allowed": _ACME_IT,
        "body": lambda w, p: {"to_party_id": w["party"], "reason": "Needs the MSP"},
    },
    ("POST", "/tickets/{ticket_id}/assign"): {
        "allowed": _ACME_IT,
        "body": lambda w, p: {"assignee_id": w["user:internal_tech"]},
    },
    ("POST", "/tickets/{ticket_id}/comments"): {
        "allowed": _ACME_IT | {"requester"},
        "body": lambda w, p: {"body": "Matrix note", "visibility": "public"},
    },
    ("POST", "/tickets/{ticket_id}/time"): {
        "allowed": _ACME_IT,
        "body": lambda w, p: {"minutes": 15},
    },
    ("POST", "/calendars"): {
        "allowed": {"owner"},
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "name": "Weekend cover",
            "time_zone": "Europe/Berlin",
            "weekly": {"5": [["00:00", "24:00"]], "6": [["00:00", "24:00"]]},
        },
    },
    ("POST", "/sla-policies"): {
        "allowed": {"owner"},
        "body": lambda w, p: {
            "tenant_id": w["tenant"],
            "name": "Sentinel SLA",
            "party_id": w["second_party"],
            "calendar_id": w["nights_calendar"],
            "targets": {"1": {"first_response": 15}},
        },
    },
}

#: Reads that are not "one type's list or detail": who gets 200.
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/me"): ALL_SIGNED_IN,
    ("GET", "/roles"): ALL_SIGNED_IN,
    ("GET", "/roles/{role_id}"): ALL_SIGNED_IN,
    ("GET", "/providers"): ALL_SIGNED_IN,
    ("GET", "/providers/{provider_id}"): ALL_SIGNED_IN,
    ("GET", "/tokens"): ALL_SIGNED_IN,
    ("GET", "/audit"): frozenset({"owner", "provider_admin", "other_tenant_owner"}),
    ("GET", "/audit/export"): frozenset({"owner", "provider_admin", "other_tenant_owner"}),
    ("GET", "/tenants/{tenant_id}/audit/verify"): frozenset({"owner"}),
    ("GET", "/tickets/{ticket_id}/comments"): _TICKET_READERS,
    # The history names parties and reasons: IT people only.
    ("GET", "/tickets/{ticket_id}/events"): _TICKET_READERS - {"requester"},
    # Time entries: the tenant's IT sees all, a provider its own party's.
    ("GET", "/tickets/{ticket_id}/time"): _TICKET_READERS - {"requester"},
    ("GET", "/tenants/{tenant_id}/calendars"): frozenset(_TENANT_A_PEOPLE - {"requester"}),
    ("GET", "/tenants/{tenant_id}/sla-policies"): frozenset(_TENANT_A_PEOPLE - {"requester"}),
}

#: Path parameters that are not a world object type, and what fills them.
EXTRA_PARAMS = {
    "role_id": "role",
    "provider_id": "provider",
    "token_id": "token",
}

# --- Pages -----------------------------------------------------------------------------------
_TENANT_A_READERS = frozenset(
    {
        "owner",
        "internal_tech",
        "provider_tech",
        "provider_admin",
        "out_of_scope_tech",
        "second_provider_tech",
    }
)

#: For every page (by URL name): who reaches it with the default targets (200, or a redirect
#: that is not the login page, or 405 for POST-only URLs). Everyone else signed in must get
#: 404 (or 403); anonymous visitors are sent to the login page. A new page fails the
#: meta-test until it is listed here.
PAGES: dict[str, frozenset[str]] = {
    "home": ALL_SIGNED_IN,
    "tenant-create": frozenset(),
    "provider-create": frozenset(),
    "tenant": _TENANT_A_READERS | {"requester"},
    "tenant-settings": frozenset({"owner"}),
    "engagements": _TENANT_A_READERS,
    "engagement-grant": frozenset({"owner"}),
    "engagement": frozenset({"owner", "internal_tech", "provider_tech", "provider_admin"}),
    "engagement-accept": frozenset(),
    "engagement-rescope": frozenset({"owner"}),
    "engagement-suspend": frozenset({"owner"}),
    "engagement-resume": frozenset({"owner"}),
    "engagement-end": frozenset({"owner"}),
    "sites": _TENANT_A_READERS,
    "site-create": frozenset({"owner", "internal_tech"}),
    "site-edit": frozenset({"owner", "internal_tech"}),
    "asset-groups": _TENANT_A_READERS,
    "asset-group-create": frozenset({"owner", "internal_tech"}),
    "asset-group-edit": frozenset({"owner", "internal_tech"}),
    "service-areas": _TENANT_A_READERS,
    "service-area-create": frozenset({"owner"}),
    "service-area-edit": frozenset({"owner"}),
    "people": frozenset({"owner", "internal_tech"}),
    "people-invite": frozenset({"owner"}),
    "membership-deactivate": frozenset({"owner"}),
    "membership-role": frozenset({"owner"}),
    "roles": ALL_SIGNED_IN,
    "provider-staff": frozenset({"provider_admin"}),
    "provider-staff-invite": frozenset({"provider_admin"}),
    "log": frozenset({"owner", "provider_admin"}),
    "export": frozenset({"owner", "provider_admin"}),
    "tokens": ALL_SIGNED_IN,
    "token-revoke": frozenset({"owner"}),
    "tickets": _TENANT_A_READERS | {"requester"},
    "my-queue": ALL_SIGNED_IN - {"suspended_provider_tech"},
    "ticket-create": _TENANT_A_READERS | {"requester"},
    "ticket": frozenset({"requester", "owner", "internal_tech", "provider_tech", "provider_admin"}),
    "ticket-comment": frozenset({"requester", "owner", "internal_tech"}),
    "ticket-status": frozenset({"owner", "internal_tech"}),
    "ticket-priority": frozenset({"owner", "internal_tech"}),
    "ticket-handoff": frozenset({"owner", "internal_tech"}),
    "ticket-assign": frozenset({"owner", "internal_tech"}),
    "ticket-time": frozenset({"owner", "internal_tech"}),
}

#: Default targets of page URLs whose natural target is not the home object.
PAGE_TARGETS: dict[str, dict[str, str]] = {
    "engagement-resume": {"engagement_id": "suspended_engagement"},
    "engagement-accept": {"engagement_id": "pending_engagement"},
}

#: Public pages (sign-in, password reset, health): checked only for crashes and leaks.
PUBLIC_PAGES = frozenset(
    {
        "health",
        "login",
        "login-mfa",
        "logout",
        "password-reset",
        "password-reset-done",
        "password-reset-confirm",
        "password-reset-complete",
        "mfa-setup",
    }
)

#: Object types whose display names must never appear on a page for a persona that may
#: not see them (party and provider names are left out: a provider's name is public).
LEAK_CHECKED_TYPES = ("tenant", "site", "asset_group", "engagement", "ticket")
#: Further leak-checked types an app declares (``LEAK_MODELS``): type -> model label, its
#: display name read from the model's ``name``.
LEAK_MODELS: dict[str, str] = {}


# --- Apps' modules --------------------------------------------------------------------------
# Each app names its expectation modules in its AppConfig (``isolation_expectations``); they
# are merged here so the matrix sees one table, and an installed app is covered by its own.
def _merge() -> None:
    global PUBLIC_PAGES, LEAK_CHECKED_TYPES
    for path in isolation_expectations():
        module = importlib.import_module(path)
        # An app's own object types: their world objects, list path, readers, and the
        # names each persona must never see (added to the persona's forbidden set).
        OBJECTS.update(getattr(module, "OBJECTS", {}))
        LIST_PATHS.update(getattr(module, "LIST_PATHS", {}))
        VIEWERS.update(getattr(module, "VIEWERS", {}))
        for persona, names in getattr(module, "FORBIDDEN", {}).items():
            FORBIDDEN[persona] = FORBIDDEN[persona] | names
        LEAK_MODELS.update(getattr(module, "LEAK_MODELS", {}))
        LEAK_CHECKED_TYPES = (*LEAK_CHECKED_TYPES, *getattr(module, "LEAK_MODELS", {}))
        PAGES.update(module.PAGES)
        WRITES.update(module.WRITES)
        OTHER_READS.update(module.OTHER_READS)
        PAGE_TARGETS.update(module.PAGE_TARGETS)
        PUBLIC_PAGES = PUBLIC_PAGES | module.PUBLIC_PAGES
        EXTRA_PARAMS.update(getattr(module, "EXTRA_PARAMS", {}))


# --- A narrowed monitoring engagement -------------------------------------------------------
#: Watchtower's analyst (``narrowed_monitoring_tech``) is engaged like Sentinel (Acme's
#: security monitoring) but for the HQ site only: it reaches what Sentinel's analyst
#: reaches, except what lies outside HQ. The world's objects outside HQ, and those
#: Sentinel's own engagement gives it (its engagement, party and handed-off ticket): out of
#: scope, so 404 for an object and absent from every list.
NARROWED_OUT_OF_SCOPE = frozenset(
    {
        "site_out_of_scope",
        "asset_group_out_of_scope",
        "second_engagement",
        "second_party",
        "sentinel_ticket",
        # Apps' objects outside HQ: the Branch and unplaced devices and what is on them,
        # and the alert on a host that is no device.
        "device_out_of_scope",
        "device_unplaced",
        "alert_unplaced",
        "finding_out_of_scope",
        "job_out_of_scope",
    }
)
#: Pages Sentinel reaches whose default target lies outside HQ (404 for Watchtower).
NARROWED_PAGES_REFUSED: frozenset[str] = frozenset()


def _narrowed_monitoring() -> None:
    """Give Watchtower's analyst Sentinel's expectations, narrowed (see above)."""
    narrowed, sentinel = "narrowed_monitoring_tech", "second_provider_tech"
    FORBIDDEN[narrowed] = FORBIDDEN[sentinel] | NARROWED_OUT_OF_SCOPE
    for table in (VIEWERS, OTHER_READS):
        for key, who in table.items():
            if sentinel in who:
                table[key] = who | {narrowed}  # type: ignore[index]
    for name, who in PAGES.items():
        if sentinel in who and name not in NARROWED_PAGES_REFUSED:
            PAGES[name] = who | {narrowed}
    for spec in WRITES.values():
        if sentinel in spec["allowed"]:
            spec["allowed"] = set(spec["allowed"]) | {narrowed}


_merge()
_narrowed_monitoring()

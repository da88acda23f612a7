"""Enumerations of the tenancy domain."""

from django.db import models


class PartyKind(models.TextChoices):
    INTERNAL = "internal", "Internal IT"
    PROVIDER = "provider", "Provider"


class EngagementStatus(models.TextChoices):
    #: Granted by the tenant, not yet accepted by the provider: no access yet.
    PENDING = "pending", "Pending acceptance"
    ACTIVE = "active", "Active"
    #: Access removed on the next request; can be resumed by the tenant owner.
    SUSPENDED = "suspended", "Suspended"
    #: Terminal. Access removed for good; history stays attributed to the provider.
    ENDED = "ended", "Ended"


#: What a tenant may allow a provider to do under an engagement. Domain apps check these
#: on top of the provider role's permissions.
ENGAGEMENT_ACTIONS: dict[str, str] = {
    "tickets.work": "Work tickets in the engagement's service areas",
    "assets.view": "See assets and inventory",
    "assets.run_scripts": "Run approved scripts on endpoints",
    "jobs.request": "Request jobs on endpoints (updates, reboots; scripts also need the above)",
    "patching.approve": "Approve patches",
    "security.triage": "Triage security alerts",
    "security.rules": "Tune detection rules (turn packs and rules off, upload custom rules)",
    "changes.request": "Request changes",
    "access.request": "Request just-in-time privileged access",
    "reports.view": "See reports",
}

#: The service areas every new tenant starts with (key, name).
DEFAULT_SERVICE_AREAS: list[tuple[str, str]] = [
    ("tier1-desk", "Tier-1 desk"),
    ("endpoint-patching", "Endpoint patching"),
    ("server-patching", "Server patching"),
    ("backup", "Backup"),
    ("security-monitoring", "Security monitoring"),
    ("identity", "Identity"),
    ("network", "Network"),
    ("lob-apps", "Line-of-business apps"),
    ("onboarding", "Onboarding"),
    ("cloud", "Cloud"),
]

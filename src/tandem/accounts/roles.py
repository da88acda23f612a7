"""The built-in roles: each a set of permissions. Synced into the database after every migrate,
so a release that adds a permission gives it to the roles that should have it."""

from __future__ import annotations

from dataclasses import dataclass

from tandem.accounts.choices import RoleScope

DESK_WORK = [
    "servicedesk.view_ticket",
    "servicedesk.add_ticket",
    "servicedesk.change_ticket",
    "servicedesk.handoff_ticket",
    "servicedesk.comment_ticket",
    "servicedesk.log_time_on_ticket",
    "servicedesk.view_matrix",
    # Log a ticket for a caller (pick or add the requester, the source, the assignee).
    "servicedesk.log_ticket",
    # Canned replies: the tenant's and the person's own party's.
    "servicedesk.view_cannedreply",
    "servicedesk.change_cannedreply",
]

TENANT_READ = [
    "tenancy.view_tenant",
    "tenancy.view_engagement",
    "tenancy.view_party",
    "tenancy.view_site",
    "tenancy.view_assetgroup",
    "tenancy.view_servicearea",
    "tenancy.view_provider",
    "accounts.view_membership",
]


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str
    scope: str
    permissions: tuple[str, ...]
    description: str


BUILTIN_ROLES: tuple[BuiltinRole, ...] = (
    BuiltinRole(
        "tenant-owner",
        "Tenant owner",
        RoleScope.TENANT,
        tuple(
            TENANT_READ
            + [
                "tenancy.change_tenant",
                "tenancy.grant_engagement",
                "tenancy.rescope_engagement",
                "tenancy.suspend_engagement",
                "tenancy.end_engagement",
                "tenancy.add_site",
                "tenancy.change_site",
                "tenancy.add_assetgroup",
                "tenancy.change_assetgroup",
                "tenancy.add_servicearea",
                "tenancy.change_servicearea",
                "accounts.add_membership",
                "accounts.change_membership",
                "audit.view_auditentry",
                "audit.view_all_auditentry",
                *DESK_WORK,
                "servicedesk.view_all_ticket",
                "servicedesk.change_matrix",
                "notifications.manage_webhook",
            ]
        ),
        "The client company's IT lead: owns the tenant, its data and its engagements.",
    ),
    BuiltinRole(
        "internal-technician",
        "Internal technician",
        RoleScope.TENANT,
        tuple(
            TENANT_READ
            + [
                "tenancy.add_site",
                "tenancy.change_site",
                "tenancy.add_assetgroup",
                "tenancy.change_assetgroup",
                *DESK_WORK,
                "servicedesk.view_all_ticket",
            ]
        ),
        "Works the tenant's own IT; escalates to providers.",
    ),
    BuiltinRole(
        "auditor",
        "Auditor",
        RoleScope.TENANT,
        tuple(
            TENANT_READ
            + [
                "audit.view_auditentry",
                "audit.view_all_auditentry",
                "servicedesk.view_ticket",
                "servicedesk.view_all_ticket",
                "servicedesk.view_matrix",
            ]
        ),
        "Reads everything in the tenant, including the whole audit log; changes nothing.",
    ),
    BuiltinRole(
        "requester",
        "Requester",
        RoleScope.TENANT,
        (
            "tenancy.view_tenant",
            "servicedesk.view_ticket",
            "servicedesk.add_ticket",
            "servicedesk.comment_ticket",
        ),
        "An employee of the tenant who opens and follows own tickets.",
    ),
    BuiltinRole(
        "provider-admin",
        "Provider admin",
        RoleScope.PROVIDER,
        (
            "tenancy.view_tenant",
            "tenancy.view_engagement",
            "tenancy.accept_engagement",
            "tenancy.change_provider",
            "tenancy.view_party",
            "tenancy.view_site",
            "tenancy.view_assetgroup",
            "tenancy.view_servicearea",
            "tenancy.view_provider",
            "accounts.view_membership",
            "accounts.add_membership",
            "accounts.change_membership",
            "audit.view_auditentry",
            *DESK_WORK,
        ),
        "Manages the provider's staff and accepts engagements; sees its own party's audit trail.",
    ),
    BuiltinRole(
        "provider-technician",
        "Provider technician",
        RoleScope.PROVIDER,
        (
            "tenancy.view_tenant",
            "tenancy.view_engagement",
            "tenancy.view_party",
            "tenancy.view_site",
            "tenancy.view_assetgroup",
            "tenancy.view_servicearea",
            "tenancy.view_provider",
            *DESK_WORK,
        ),
        "Works every tenant that engaged the provider, each within its engagement's scope.",
    ),
)

ROLE_KEYS = {role.key for role in BUILTIN_ROLES}


def permissions_table() -> str:
    """The built-in roles as a Markdown table (permission × role), as in docs/permissions.md."""
    permissions = sorted({p for role in BUILTIN_ROLES for p in role.permissions})
    header = "| permission | " + " | ".join(role.name for role in BUILTIN_ROLES) + " |"
    rule = "|---|" + "---|" * len(BUILTIN_ROLES)
    rows = [
        f"| `{permission}` | "
        + " | ".join("✓" if permission in role.permissions else "" for role in BUILTIN_ROLES)
        + " |"
        for permission in permissions
    ]
    return "\n".join([header, rule, *rows])

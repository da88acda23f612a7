"""The built-in roles: each a set of permissions. Synced into the database after every migrate,
so a release that adds a permission gives it to the roles that should have it.

This module names the roles; what each may do is what the installed apps give it
(``TandemAppConfig.role_permissions``, read through the app registry), so an app brings its
permissions with it and nothing here lists apps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tandem.accounts.choices import RoleScope
from tandem.core.registry import role_permissions


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str
    scope: str
    permissions: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class _RoleName:
    key: str
    name: str
    scope: str
    description: str


_ROLES = (
    _RoleName(
        "tenant-owner",
        "Tenant owner",
        RoleScope.TENANT,
        "The client company's IT lead: owns the tenant, its data and its engagements.",
    ),
    _RoleName(
        "internal-technician",
        "Internal technician",
        RoleScope.TENANT,
        "Works the tenant's own IT; escalates to providers.",
    ),
    _RoleName(
        "auditor",
        "Auditor",
        RoleScope.TENANT,
        "Reads everything in the tenant, including the whole audit log; changes nothing.",
    ),
    _RoleName(
        "requester",
        "Requester",
        RoleScope.TENANT,
        "An employee of the tenant who opens and follows own tickets.",
    ),
    _RoleName(
        "provider-admin",
        "Provider admin",
        RoleScope.PROVIDER,
        "Manages the provider's staff and accepts engagements; sees its own party's audit trail.",
    ),
    _RoleName(
        "provider-technician",
        "Provider technician",
        RoleScope.PROVIDER,
        "Works every tenant that engaged the provider, each within its engagement's scope.",
    ),
)

ROLE_KEYS = {role.key for role in _ROLES}


@functools.cache
def builtin_roles() -> tuple[BuiltinRole, ...]:
    """Each built-in role with the permissions the installed apps give it (read once the
    apps are loaded; the registry does not change while the process runs)."""
    return tuple(
        BuiltinRole(
            role.key,
            role.name,
            role.scope,
            tuple(dict.fromkeys(role_permissions(role.key))),
            role.description,
        )
        for role in _ROLES
    )


def __getattr__(name: str) -> tuple[BuiltinRole, ...]:
    # ``BUILTIN_ROLES`` reads the registry, so it is computed on first use, not on import.
    if name == "BUILTIN_ROLES":
        return builtin_roles()
    raise AttributeError(name)


def permissions_table() -> str:
    """The built-in roles as a Markdown table (permission × role), as in docs/permissions.md."""
    roles = builtin_roles()
    permissions = sorted({p for role in roles for p in role.permissions})
    header = "| permission | " + " | ".join(role.name for role in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    rows = [
        f"| `{permission}` | "
        + " | ".join("✓" if permission in role.permissions else "" for role in roles)
        + " |"
        for permission in permissions
    ]
    return "\n".join([header, rule, *rows])

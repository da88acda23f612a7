"""Who is acting: the principal resolved for every request, task and CLI command.

A principal is plain data, resolved on every request from a per-process cache of accesses
(``accounts.access_cache``) whose key every access change replaces in the same transaction
(decision 0014), so that suspending an engagement or removing a membership takes effect on
the very next request, in every process.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TenantAccess:
    """What one membership lets its user do inside one tenant.

    For a provider membership there is one access per *active* engagement of that provider;
    the engagement's scope narrows what the access reaches. ``None`` means "not narrowed".
    """

    tenant_id: int
    membership_id: int
    role_key: str
    permissions: frozenset[str]
    party_id: int | None = None
    provider_id: int | None = None
    engagement_id: int | None = None
    service_area_ids: frozenset[int] | None = None
    site_ids: frozenset[int] | None = None
    asset_group_ids: frozenset[int] | None = None
    engagement_actions: frozenset[str] = frozenset()
    #: The acting user, so rules such as "a requester's own tickets" can be written per access.
    user_id: int | None = None

    @property
    def is_provider(self) -> bool:
        return self.provider_id is not None

    @property
    def is_internal(self) -> bool:
        return self.provider_id is None and self.party_id is not None


@dataclass(frozen=True)
class ProviderAccess:
    """What a provider membership lets its user do at the provider itself (staff, contracts)."""

    provider_id: int
    membership_id: int
    role_key: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class Principal:
    """The acting user (or named system context) with every access it holds right now."""

    user_id: int | None
    label: str
    tenant_accesses: tuple[TenantAccess, ...] = ()
    provider_accesses: tuple[ProviderAccess, ...] = ()
    is_superuser: bool = False
    token_id: int | None = None
    #: The one membership an API token acts for (None for sessions and system work).
    token_membership_id: int | None = None
    token_read_only: bool = False
    system_reason: str = ""
    mfa_pending: bool = False
    #: A device's agent (decision 0027): its device and that device's tenant. Such a
    #: principal has no user, no access and no permission; it reaches its one tenant's rows
    #: for the ``/agent/v1/`` handlers, which name only its own device.
    device_id: int | None = None
    device_tenant_id: int | None = None
    _by_tenant: dict[int, tuple[TenantAccess, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        grouped: dict[int, list[TenantAccess]] = {}
        for access in self.tenant_accesses:
            grouped.setdefault(access.tenant_id, []).append(access)
        object.__setattr__(self, "_by_tenant", {k: tuple(v) for k, v in grouped.items()})

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None and not self.mfa_pending

    @property
    def is_token(self) -> bool:
        """True when the request authenticated with an API token, not a signed-in session."""
        return self.token_id is not None

    @property
    def is_system(self) -> bool:
        return bool(self.system_reason)

    @property
    def is_device(self) -> bool:
        """True for a device credential's principal (``/agent/v1/`` only, decision 0027)."""
        return self.device_id is not None

    @property
    def tenant_ids(self) -> frozenset[int]:
        """The tenants whose rows this principal's scope opens: those it has accesses in,
        or a device's own tenant."""
        if self.device_tenant_id is not None:
            return frozenset(self._by_tenant) | {self.device_tenant_id}
        return frozenset(self._by_tenant)

    @property
    def provider_ids(self) -> frozenset[int]:
        return frozenset(a.provider_id for a in self.provider_accesses)

    def accesses_in(self, tenant_id: int) -> tuple[TenantAccess, ...]:
        return self._by_tenant.get(tenant_id, ())

    def _permits(self, permission: str, permissions: frozenset[str]) -> bool:
        if permission not in permissions:
            return False
        # A read-only API token keeps only the view permissions of its membership.
        return not (self.token_read_only and not permission.split(".", 1)[-1].startswith("view"))

    def accesses_with(self, permission: str, tenant_id: int | None = None) -> list[TenantAccess]:
        """The accesses (optionally in one tenant) whose role grants ``permission``."""
        pool = self.accesses_in(tenant_id) if tenant_id is not None else self.tenant_accesses
        return [a for a in pool if self._permits(permission, a.permissions)]

    def provider_accesses_with(
        self, permission: str, provider_id: int | None = None
    ) -> list[ProviderAccess]:
        return [
            a
            for a in self.provider_accesses
            if (provider_id is None or a.provider_id == provider_id)
            and self._permits(permission, a.permissions)
        ]

    def party_in(self, tenant_id: int) -> int | None:
        """The party this principal acts for in a tenant (its first access with a party)."""
        for access in self.accesses_in(tenant_id):
            if access.party_id is not None:
                return access.party_id
        return None

    # Three different questions about one tenant. Having *an* access there is not being its
    # IT: a provider technician may also be a requester of the same tenant, and that
    # requester access must never open what only the tenant's IT reads (internal time,
    # every SLA, IT-shared notes). Policies ask these, never ``provider_id is None``.

    def is_it_in(self, tenant_id: int) -> bool:
        """Works there for a party: the tenant's own IT or a provider's (not a requester)."""
        return self.party_in(tenant_id) is not None

    def is_internal_in(self, tenant_id: int) -> bool:
        """Works there for the tenant's own IT party (owner, internal technician, auditor)."""
        return any(a.is_internal for a in self.accesses_in(tenant_id))

    @property
    def is_requester_only(self) -> bool:
        """Signed in, and nothing but a requester anywhere: no IT party in any tenant, no
        provider staff membership, not the operator. Such a person uses the portal only."""
        return (
            self.is_authenticated
            and not self.is_superuser
            and not self.provider_accesses
            and all(a.party_id is None for a in self.tenant_accesses)
        )

    def party_ids_in(self, tenant_id: int) -> frozenset[int]:
        """Every party it acts for in the tenant (its IT's, its providers'); empty for a
        requester."""
        return frozenset(a.party_id for a in self.accesses_in(tenant_id) if a.party_id is not None)


ANONYMOUS = Principal(user_id=None, label="anonymous")

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "tandem_principal", default=None
)


def current_principal() -> Principal | None:
    """The principal of the request or task being handled, if any: for code that has no
    request at hand (``core.api.audience`` choosing a response shape per object)."""
    return _current.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def device_principal(*, device_id: int, tenant_id: int, label: str) -> Principal:
    """The principal of a device's agent: scoped to its tenant, holding no permission."""
    return Principal(
        user_id=None, label=f"device: {label}", device_id=device_id, device_tenant_id=tenant_id
    )


def system_principal(reason: str) -> Principal:
    """A principal for work the system does by itself (CLI, tasks), named for the audit log."""
    if not reason:
        raise ValueError("a system principal needs a reason")
    return Principal(user_id=None, label=f"system: {reason}", system_reason=reason)

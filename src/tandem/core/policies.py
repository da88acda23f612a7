"""The policy registry: one place that answers "may this principal do this action?".

Every app's ``policies.py`` registers a check per action with ``@policy("app.verb_model")``.
Views and API operations declare their action with ``@declare_action`` (see
``tandem.core.actions``); a meta-test fails on any endpoint that does not. Checks are plain
functions of (principal, object) so they can be tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from tandem.core.lookups import IdIn
from tandem.core.principal import Principal
from tandem.core.scoping import system_context

M = TypeVar("M", bound=Model)
PolicyCheck = Callable[[Principal, Any], bool]

_REGISTRY: dict[str, PolicyCheck] = {}

#: Actions anybody may perform, signed in or not (login page, password reset, health).
PUBLIC = "public"
#: Actions any signed-in person may perform on their own account (profile, own tokens).
SIGNED_IN = "signed_in"


def policy(action: str) -> Callable[[PolicyCheck], PolicyCheck]:
    """Register ``check`` as the policy for ``action``; an action has exactly one policy."""

    def register(check: PolicyCheck) -> PolicyCheck:
        if action in _REGISTRY and _REGISTRY[action] is not check:
            raise RuntimeError(f"policy for {action!r} registered twice")
        _REGISTRY[action] = check
        return check

    return register


def registered_actions() -> frozenset[str]:
    return frozenset(_REGISTRY) | {PUBLIC, SIGNED_IN}


def allowed(principal: Principal, action: str, obj: Any = None) -> bool:
    """True if ``principal`` may perform ``action`` (on ``obj`` when given).

    Unknown actions are refused: a typo fails closed instead of opening a door.
    """
    if action == PUBLIC:
        return True
    if principal.is_system:
        # Only the CLI and the worker build system principals, for a named reason.
        return True
    if action == SIGNED_IN:
        return principal.is_authenticated
    if not principal.is_authenticated:
        return False
    check = _REGISTRY.get(action)
    if check is None:
        return False
    return bool(check(principal, obj))


def authorize(principal: Principal, action: str, obj: Any = None) -> None:
    """Raise ``PermissionDenied`` (HTTP 403) unless the action is allowed."""
    if not allowed(principal, action, obj):
        raise PermissionDenied(f"not allowed: {action}")


def replace_policy(action: str, check: PolicyCheck) -> PolicyCheck:
    """Swap a policy and return the old one. Only for the test that proves the isolation
    matrix notices a broken policy."""
    old = _REGISTRY[action]
    _REGISTRY[action] = check
    return old


AccessRule = Callable[[Any], "Q"]


class ScopedPermission:
    """A policy of the usual shape, usable both for one object and for lists.

    The principal holds ``permission`` through a tenant access, and the row matches
    ``rule(access)`` (a ``Q``; the engagement's scope for provider accesses). Lists filter by
    :meth:`q`; single objects are checked with the same ``Q``, so the two can never disagree.
    ``provider_rule`` additionally opens rows to provider-level accesses (a provider admin
    seeing its pending engagements, whose tenant it cannot reach yet); such rows are read in
    a named system context because their tenant is outside the principal's scope.
    """

    def __init__(
        self,
        permission: str,
        *,
        rule: AccessRule | None = None,
        tenant_field: str = "tenant_id",
        provider_rule: AccessRule | None = None,
        internal_only: bool = False,
    ) -> None:
        self.permission = permission
        self.internal_only = internal_only
        self.rule = rule
        self.tenant_field = tenant_field
        self.provider_rule = provider_rule
        self.__doc__ = f"Holds {permission} in the row's tenant" + (
            ", within the engagement's scope." if rule else "."
        )

    def _tenant_accesses(self, principal: Principal, tenant_id: int | None = None) -> list[Any]:
        accesses = principal.accesses_with(self.permission, tenant_id)
        if self.internal_only:
            # Provider roles may hold the same permission for their own provider (its staff);
            # inside a tenant it must not count. Nor does a requester access: internal means
            # the tenant's own IT party (``TenantAccess.is_internal``).
            accesses = [a for a in accesses if a.is_internal]
        return accesses

    def q(self, principal: Principal) -> Q:
        # Accesses whose rule comes out the same (a provider's party rule, or no rule at
        # all) share one clause over their tenants: a technician of an MSP with 160 clients
        # otherwise carried 160 copies of it into every list query.
        tenants_by_rule: dict[Q, list[int]] = {}
        for access in self._tenant_accesses(principal):
            rule = self.rule(access) if self.rule is not None else Q()
            tenants_by_rule.setdefault(rule, []).append(access.tenant_id)
        allowed_rows = Q(pk__in=[])
        for rule, tenant_ids in tenants_by_rule.items():
            if len(tenant_ids) == 1:
                allowed_rows |= Q(**{self.tenant_field: tenant_ids[0]}) & rule
            else:
                allowed_rows |= Q(IdIn(self.tenant_field, tenant_ids)) & rule
        if self.provider_rule is not None:
            for provider_access in principal.provider_accesses_with(self.permission):
                allowed_rows |= self.provider_rule(provider_access)
        return allowed_rows

    def __call__(self, principal: Principal, obj: Any) -> bool:
        if obj is None:
            return bool(
                self._tenant_accesses(principal)
                or (self.provider_rule and principal.provider_accesses_with(self.permission))
            )
        if obj._meta.label == "tenancy.Tenant" and (
            self.tenant_field != "id" or (self.rule is None and self.provider_rule is None)
        ):
            # "May I add a site to this tenant?": the permission held in that tenant. The
            # principal already lists its accesses per tenant, so no query is needed.
            return bool(self._tenant_accesses(principal, obj.pk))

        with system_context("check one object against its policy"):
            manager = type(obj)._default_manager
            return manager.filter(pk=obj.pk).filter(self.q(principal)).exists()


def visible(principal: Principal, action: str, queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` narrowed to the rows ``principal`` may ``action``: the list counterpart of
    :func:`allowed`. Without a principal it refuses to run (fail closed)."""
    if principal is None:
        raise PermissionError("a query of tenant data needs a principal")
    if principal.is_system:
        return queryset
    check = _REGISTRY.get(action)
    if check is None or not principal.is_authenticated:
        return queryset.none()
    if isinstance(check, ScopedPermission):
        return queryset.filter(check.q(principal))
    # A plain function policy cannot filter rows: all or nothing.
    return queryset if check(principal, None) else queryset.none()


def sees_whole_tenant(principal: Principal, action: str, tenant_id: int) -> bool:
    """Whether :func:`visible` lets ``principal`` ``action`` every row of ``tenant_id``
    (an access there whose rule narrows nothing: the tenant's own IT, a provider engaged
    for the whole tenant). Answered from the principal alone, no query; False when unsure
    (a plain function policy), so a caller that skips narrowing on True stays fail-closed."""
    if principal.is_system:
        return True
    check = _REGISTRY.get(action)
    if not isinstance(check, ScopedPermission) or not principal.is_authenticated:
        return False
    return any(
        check.rule is None or check.rule(access) == Q()
        for access in check._tenant_accesses(principal, tenant_id)
    )


def get_visible_or_404(
    principal: Principal, action: str, queryset: QuerySet[M], **lookup: Any
) -> M:
    """The one row matching ``lookup`` that ``principal`` may ``action``, else HTTP 404.

    Rows of another tenant, or outside a provider's engagement, are indistinguishable from
    rows that do not exist.
    """
    try:
        return visible(principal, action, queryset).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404("not found") from exc

"""The one place where tenant scoping is switched on, and the only allowed way around it.

Tenant-owned models use ``django_scopes.ScopedManager(tenant=...)``: any query of them outside
a scope raises ``ScopeError`` instead of returning every tenant's rows. Requests enter
``principal_scope`` (limited to the tenants the principal can reach right now); the CLI and
tasks enter ``system_context`` with a reason.
``tests/test_scoping.py::test_escape_hatches_appear_only_in_the_scoping_module`` fails if
``scopes_disabled`` appears anywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scope, scopes_disabled
from django_scopes.state import get_scope
from django_scopes.state import state as _scope_state

from tandem.core.principal import Principal

log = logging.getLogger(__name__)

#: The scope dimension that narrows a device principal to its one device (decision 0032).
DEVICE = "device"


@contextmanager
def principal_scope(principal: Principal) -> Iterator[None]:
    """Limit every scoped query to the tenants the principal can reach.

    Always passes a list: django-scopes treats ``None`` as "no filter", which must never
    happen here. A principal with no tenant access gets an empty list and sees nothing.

    A device principal also sets the ``device`` dimension to its one device: the managers
    of the device's own rows keep only that device's, every other tenant-owned model
    refuses to run (``core.models.tenant_manager``). Anyone else clears it, so a scope
    entered inside a device's never inherits its narrowing by accident, nor the reverse.
    ``within_tenant`` keeps the dimension as it finds it: a service called for a device
    stays narrowed to that device.
    """
    device = [principal.device_id] if principal.device_id is not None else None
    with scope(tenant=sorted(principal.tenant_ids), **{DEVICE: device}):
        yield


def scope_value(dimension: str) -> list[int] | None:
    """The ids the active scope gives ``dimension``, or None when it sets none (or scoping
    is switched off by ``system_context``): read by the tenant-scoped managers."""
    current = get_scope()
    if not current.get("_enabled", True):
        return None
    value = current.get(dimension)
    return None if value is None else list(value)


@contextmanager
def system_context(reason: str) -> Iterator[None]:
    """Run queries across tenants on purpose, for a named reason (logged at debug level).

    Used for principal resolution, the worker, the CLI, and reads whose filter is built
    entirely from the principal (for example a provider's own engagements).
    """
    if not reason or not reason.strip():
        raise ValueError("system_context needs a reason")
    log.debug("system context: %s", reason)
    with scopes_disabled():
        yield


@contextmanager
def outside_any_scope() -> Iterator[None]:
    """Run as the worker does: with no scope at all (nothing of the caller's tenant or
    device dimensions), so the code inside must enter its own context. For the test
    suite's eager event dispatch, which otherwise runs a subscriber inside the request's
    scope (a device principal's, for a check-in) where the worker never would."""
    token = _scope_state.set(None)
    try:
        yield
    finally:
        _scope_state.reset(token)


@contextmanager
def within_tenant(tenant_id: int) -> Iterator[None]:
    """Narrow scoped queries to one tenant, for a service writing inside that tenant.

    The caller has already been authorized for the tenant; this makes the service's own
    reads (uniqueness checks, lookups) work the same from a request, a task or the CLI,
    and never reach another tenant's rows.
    """
    with scope(tenant=[tenant_id]):
        yield

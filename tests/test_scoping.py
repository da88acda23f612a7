"""Scoping is fail-closed: no tenant data without a principal or a named system context."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_scopes.exceptions import ScopeError

from tandem.accounts.models import Membership
from tandem.audit.models import AuditEntry
from tandem.core.policies import visible
from tandem.core.principal import ANONYMOUS, Principal
from tandem.core.scoping import principal_scope, system_context, within_tenant
from tandem.tenancy.models import AssetGroup, Engagement, Party, ServiceArea, Site, Tenant

TENANT_OWNED = [Tenant, Site, AssetGroup, ServiceArea, Engagement, Party, Membership, AuditEntry]
SRC = Path(__file__).resolve().parent.parent / "src" / "tandem"


@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda m: m.__name__)
def test_an_unscoped_query_raises(model, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()
    with pytest.raises(ScopeError):
        model.objects.count()


def test_a_principal_without_tenants_sees_nothing(world) -> None:  # type: ignore[no-untyped-def]
    lonely = Principal(user_id=999_999, label="nobody")
    with principal_scope(lonely):
        assert Site.objects.count() == 0
        assert Tenant.objects.count() == 0


def test_the_scope_keeps_to_the_principals_tenants(world) -> None:  # type: ignore[no-untyped-def]
    from tandem.accounts.principals import resolve_principal
    from tests.personas import user_of

    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(owner):
        assert set(Site.objects.values_list("tenant_id", flat=True)) == {world["tenant"]}


def test_within_tenant_reaches_one_tenant_only(world) -> None:  # type: ignore[no-untyped-def]
    with within_tenant(world["other_tenant"]):
        assert set(Site.objects.values_list("name", flat=True)) == {"Globex Plant site"}


def test_visible_refuses_to_run_without_a_principal(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"), pytest.raises(PermissionError):
        visible(None, "tenancy.view_site", Site.objects.all())  # type: ignore[arg-type]


def test_anonymous_sees_no_rows_even_in_a_system_context(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        assert visible(ANONYMOUS, "tenancy.view_site", Site.objects.all()).count() == 0


def test_system_context_needs_a_reason() -> None:
    with pytest.raises(ValueError), system_context("  "):
        pass


def test_escape_hatches_appear_only_in_the_scoping_module() -> None:
    """The lint rule: ``scopes_disabled`` and ``with_scopes_disabled`` may be used only in
    ``core/scoping.py``; everything else names its reason through ``system_context``."""
    pattern = re.compile(r"\bscopes_disabled\b|\bwith_scopes_disabled\b|\bdjango_scopes\.state\b")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "scoping.py"
        and "migrations" not in path.parts
        and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_every_tenant_owned_model_has_a_scoped_manager() -> None:
    from django.apps import apps

    unscoped = []
    for model in apps.get_models():
        if not model.__module__.startswith("tandem."):
            continue
        field_names = {f.name for f in model._meta.get_fields()}
        if "tenant" in field_names or model is Tenant:
            manager = type(model._default_manager)
            if "ScopedManager" not in repr(manager.__qualname__) and manager.__name__ == "Manager":
                # django-scopes builds a class named "Manager" inside ScopedManager()
                pass
            if not hasattr(model._default_manager, "with_scope"):
                unscoped.append(model.__name__)
    # The audit chain head holds no tenant data (counters and a hash) and is read only by
    # the audit services in a system context.
    assert set(unscoped) <= {"AuditChain"}, unscoped

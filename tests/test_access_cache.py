"""Cached principals stay exactly as fresh as principals read from the database.

Each test warms the per-process cache, changes access the way an administrator does, and
checks that the very next resolution sees the change. Unplugging the signal handlers in
``accounts.access_cache`` makes these tests fail.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tandem.accounts import access_cache
from tandem.accounts.models import AccessVersion, Membership, Role
from tandem.accounts.principals import mfa_required_for, resolve_principal
from tandem.accounts.services import deactivate_membership
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement, ServiceArea, Tenant
from tandem.tenancy.services import rescope_engagement, suspend_engagement, update_tenant
from tests.personas import user_of

SYSTEM = system_principal("test: change access")


@pytest.fixture(autouse=True)
def _version_row(db):  # type: ignore[no-untyped-def]
    # A browser test's flush empties every table, this row included (nothing is cached then).
    with system_context("test: the access-version row"):
        AccessVersion.objects.get_or_create(pk=1)
    access_cache.clear()
    yield
    access_cache.clear()


def _tenant_ids(world, persona):  # type: ignore[no-untyped-def]
    with system_context("test: resolve"):
        return {a.tenant_id for a in resolve_principal(user_of(world, persona)).tenant_accesses}


def test_a_warm_principal_costs_one_query(world) -> None:  # type: ignore[no-untyped-def]
    user = user_of(world, "provider_tech")
    first = resolve_principal(user)
    with CaptureQueriesContext(connection) as captured:
        again = resolve_principal(user)
    assert len(captured) == 1  # the access-version token
    assert again.tenant_accesses == first.tenant_accesses
    assert again.tenant_accesses  # a provider technician with engagements


def test_suspending_an_engagement_reaches_the_next_principal(world) -> None:  # type: ignore[no-untyped-def]
    assert world["tenant"] in _tenant_ids(world, "provider_tech")
    with system_context("test: suspend"):
        engagement = Engagement.objects.get(pk=world["engagement"])
        suspend_engagement(actor=SYSTEM, engagement=engagement, reason="Contract lapsed")
    assert world["tenant"] not in _tenant_ids(world, "provider_tech")


def test_rescoping_an_engagement_reaches_the_next_principal(world) -> None:  # type: ignore[no-untyped-def]
    def areas():  # type: ignore[no-untyped-def]
        principal = resolve_principal(user_of(world, "provider_tech"))
        return next(
            a.service_area_ids for a in principal.tenant_accesses if a.tenant_id == world["tenant"]
        )

    before = areas()
    with system_context("test: rescope"):
        engagement = Engagement.objects.get(pk=world["engagement"])
        extra = (
            ServiceArea.objects.filter(tenant_id=world["tenant"])
            .exclude(pk__in=before)
            .values_list("pk", flat=True)
            .first()
        )
        assert extra is not None
        rescope_engagement(actor=SYSTEM, engagement=engagement, service_area_ids=[*before, extra])
    assert areas() == {*before, extra}


def test_deactivating_a_membership_reaches_the_next_principal(world) -> None:  # type: ignore[no-untyped-def]
    assert world["tenant"] in _tenant_ids(world, "internal_tech")
    with system_context("test: deactivate"):
        membership = Membership.objects.get(user=user_of(world, "internal_tech"))
        deactivate_membership(actor=SYSTEM, membership=membership)
    assert world["tenant"] not in _tenant_ids(world, "internal_tech")


def test_a_role_losing_a_permission_reaches_the_next_principal(world) -> None:  # type: ignore[no-untyped-def]
    def permissions():  # type: ignore[no-untyped-def]
        principal = resolve_principal(user_of(world, "auditor"))
        return next(a.permissions for a in principal.tenant_accesses)

    assert "servicedesk.view_ticket" in permissions()
    role = Role.objects.get(key="auditor")
    role.permissions = [p for p in role.permissions if p != "servicedesk.view_ticket"]
    role.save()
    assert "servicedesk.view_ticket" not in permissions()


def test_a_tenant_requiring_mfa_reaches_the_next_check(world) -> None:  # type: ignore[no-untyped-def]
    user = user_of(world, "requester")
    assert mfa_required_for(user) is False
    with system_context("test: require MFA"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        update_tenant(actor=SYSTEM, tenant=tenant, require_mfa=True)
    assert mfa_required_for(user) is True


def test_a_rolled_back_change_leaves_the_cache_agreeing_with_the_database(world) -> None:  # type: ignore[no-untyped-def]
    assert world["tenant"] in _tenant_ids(world, "provider_tech")
    with pytest.raises(RuntimeError), transaction.atomic():
        with system_context("test: suspend, then fail"):
            engagement = Engagement.objects.get(pk=world["engagement"])
            suspend_engagement(actor=SYSTEM, engagement=engagement, reason="About to fail")
        # Seen inside the transaction: the suspension and its new token.
        assert world["tenant"] not in _tenant_ids(world, "provider_tech")
        raise RuntimeError("roll back")
    # After the rollback the old token is back, and with it the unsuspended principal.
    assert world["tenant"] in _tenant_ids(world, "provider_tech")
    with system_context("test: the engagement is still active"):
        assert Engagement.objects.get(pk=world["engagement"]).status == "active"


def test_without_the_version_row_nothing_is_cached(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: drop the row"):
        AccessVersion.objects.all().delete()
    user = user_of(world, "provider_tech")
    resolve_principal(user)
    with CaptureQueriesContext(connection) as captured:
        resolve_principal(user)
    assert len(captured) > 1  # read again from the memberships and engagements


def test_a_fixture_load_reaches_the_next_principal(world) -> None:  # type: ignore[no-untyped-def]
    from django.core import serializers

    assert world["tenant"] in _tenant_ids(world, "provider_tech")
    with system_context("test: load a fixture that suspends the engagement"):
        engagement = Engagement.objects.get(pk=world["engagement"])
        engagement.status = "suspended"
        fixture = serializers.serialize("json", [engagement])
        for loaded in serializers.deserialize("json", fixture):
            loaded.save()  # as loaddata does: a raw save
    assert world["tenant"] not in _tenant_ids(world, "provider_tech")


def test_accesses_read_while_access_changes_are_not_cached(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tandem.accounts import principals

    user = user_of(world, "provider_tech")
    real = principals._read_accesses

    def read_while_an_admin_changes_access(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)
        access_cache.invalidate()  # a change commits between the token and the read
        return found

    before = access_cache.current_token()
    monkeypatch.setattr(principals, "_read_accesses", read_while_an_admin_changes_access)
    resolve_principal(user)
    # The accesses may be newer than the token read first: nothing is filed under it (a
    # restored backup could bring that token back with older data).
    assert not [key for key in access_cache._cache if before in key]

"""A tenant's desk settings row is made with the tenant, never by a reader.

The settings (priority matrix, status workflow, ticket numbers, the configuration token) used
to be made on first read, and pages read them on GET. Now ``tenancy.services.create_tenant``
makes the row in its own transaction (the desk's ``set_up_desk``, registered through
``register_tenant_set_up``), and migration 0021 made it for the tenants that existed before.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.choices import DEFAULT_PRIORITY_MATRIX, DEFAULT_STATUSES
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.desk_config import desk_settings
from tandem.tenancy.models import Tenant
from tandem.tenancy.services import create_tenant

MIGRATION = importlib.import_module(
    "tandem.servicedesk.migrations.0021_desk_settings_for_every_tenant"
)


def _settings_of(tenant_id: int) -> list[DeskSettings]:
    with system_context("test: the tenant's settings rows"):
        return list(DeskSettings.objects.filter(tenant_id=tenant_id))


def test_a_new_tenant_has_its_desk_settings_from_the_start(db) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: a new tenant")
    tenant = create_tenant(actor=actor, name="Initech", slug="initech")
    [settings] = _settings_of(tenant.pk)
    assert settings.priority_matrix == DEFAULT_PRIORITY_MATRIX
    assert settings.statuses == [list(s) for s in DEFAULT_STATUSES]
    assert settings.next_number == 1


def test_the_settings_row_is_part_of_the_tenants_transaction(db) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: a tenant rolled back")
    with pytest.raises(RuntimeError), transaction.atomic():
        tenant = create_tenant(actor=actor, name="Vapour", slug="vapour")
        raise RuntimeError("the caller's transaction fails after the tenant")
    assert _settings_of(tenant.pk) == []
    with system_context("test"):
        assert not Tenant.objects.filter(slug="vapour").exists()


def test_reading_the_settings_never_writes(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a tenant left without its row"):
        DeskSettings.objects.filter(tenant_id=world["tenant"]).delete()
    with system_context("test"), pytest.raises(DeskSettings.DoesNotExist):
        desk_settings(world["tenant"])
    # The desk's configuration page, read by its owner, makes no row either.
    url = reverse("servicedesk_config:desk-config", args=[world["tenant"]])
    with pytest.raises(DeskSettings.DoesNotExist):
        as_persona("owner").get(url)
    assert _settings_of(world["tenant"]) == []


def test_the_migration_gives_every_tenant_without_settings_the_defaults(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: tenants from before the migration"):
        DeskSettings.objects.filter(tenant_id=world["tenant"]).delete()
        others = DeskSettings.objects.exclude(tenant_id=world["tenant"]).count()
    MIGRATION.settings_for_every_tenant(apps, None)
    [settings] = _settings_of(world["tenant"])
    assert settings.statuses == [list(s) for s in DEFAULT_STATUSES]
    assert settings.priority_matrix == DEFAULT_PRIORITY_MATRIX
    # The rows that existed are left alone, and a second run adds nothing.
    MIGRATION.settings_for_every_tenant(apps, None)
    with system_context("test"):
        assert DeskSettings.objects.exclude(tenant_id=world["tenant"]).count() == others
    assert len(_settings_of(world["tenant"])) == 1

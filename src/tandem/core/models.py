"""Base classes shared by every tenant-owned model."""

from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantOwned(TimeStamped):
    """A row that belongs to exactly one tenant.

    Its default manager refuses to run a query unless a tenant scope (or a named system
    context) is active: see ``tandem.core.scoping``.
    """

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, db_index=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True

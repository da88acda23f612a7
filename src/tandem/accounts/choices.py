"""Enumerations of the accounts domain."""

from django.db import models


class RoleScope(models.TextChoices):
    """Where a role can be held: inside a tenant, or at a provider."""

    TENANT = "tenant", "Tenant"
    PROVIDER = "provider", "Provider"


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"

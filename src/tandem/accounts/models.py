"""People and their access: users, roles, memberships, API tokens and second factors.

A user acts only through memberships. A tenant membership ties the user to one tenant (and,
for IT staff, to the tenant's internal party); a provider membership ties the user to a
provider, whose active engagements then open the matching tenants.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from tandem.accounts.choices import RoleScope, TokenScope
from tandem.core.models import TimeStamped, tenant_manager


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_staff", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser):
    """A person. Signs in with e-mail and password (argon2), plus TOTP where required."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    #: Instance operator: may create tenants and providers. Sees no tenant data by itself.
    is_superuser = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(TimeStamped):
    """A named set of permissions (``<app>.<action>_<model>``), held in a tenant or a provider."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120, unique=True)
    scope = models.CharField(max_length=16, choices=RoleScope.choices)
    permissions = models.JSONField(default=list)
    description = models.TextField(blank=True, default="")
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStamped):
    """One user's role in one tenant (optionally in its internal party) or at one provider.

    Tenant memberships are scoped like tenant data; provider memberships (no tenant) are read
    only through named system contexts filtered by the provider.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, db_index=True
    )
    party = models.ForeignKey("tenancy.Party", null=True, blank=True, on_delete=models.PROTECT)
    provider = models.ForeignKey(
        "tenancy.Provider", null=True, blank=True, on_delete=models.PROTECT, db_index=True
    )
    is_active = models.BooleanField(default=True)

    objects = tenant_manager()

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(tenant__isnull=False, provider__isnull=True)
                    | models.Q(tenant__isnull=True, party__isnull=True, provider__isnull=False)
                ),
                name="membership_tenant_xor_provider",
            ),
            models.UniqueConstraint(
                fields=["user", "tenant", "role"],
                condition=models.Q(tenant__isnull=False, is_active=True),
                name="membership_unique_tenant_role",
            ),
            models.UniqueConstraint(
                fields=["user", "provider", "role"],
                condition=models.Q(provider__isnull=False, is_active=True),
                name="membership_unique_provider_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.tenant or self.provider
        return f"{self.user} as {self.role} at {where}"


class ApiToken(TimeStamped):
    """A personal API token bound to one membership. Only a SHA-256 of the secret is stored.

    The secret is 256 bits of randomness, so a fast hash is safe here (unlike passwords).
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="apitoken_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class TotpDevice(TimeStamped):
    """A user's TOTP authenticator (RFC 6238). Unconfirmed until the first valid code."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    #: The last accepted time step, so a code cannot be replayed within its window.
    last_used_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"TOTP for {self.user}"


class SignInLink(TimeStamped):
    """A single-use sign-in link e-mailed to a person ("magic link").

    Only a SHA-256 of the token is stored: the token is 256 bits of randomness, so a fast
    hash is safe, and a copy of the database cannot be used to sign anyone in.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="signinlink_user_created")]

    def __str__(self) -> str:
        return f"Sign-in link for {self.user_id} until {self.expires_at}"


class AccessVersion(models.Model):
    """One row whose token changes with anything a principal is built from.

    Memberships, roles, tenants, providers, engagements (and their scope), parties, areas,
    sites and asset groups: the handlers in ``accounts.access_cache`` give the row a new
    random token in the same transaction as the change, so a process that cached a
    principal under the old token rebuilds it on its next request.
    """

    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"access version {self.token}"

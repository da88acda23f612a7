"""Tenancy: the client company (tenant), its providers and the mandates between them.

The tenant owns everything. A provider reaches a tenant only through an active
:class:`Engagement`, which makes a provider :class:`Party` inside that tenant and narrows what
the provider's staff can reach (service areas, sites, asset groups, allowed actions).
"""

from __future__ import annotations

from django.db import models

from tandem.core.models import TenantOwned, TimeStamped, tenant_manager
from tandem.tenancy.choices import EngagementStatus, PartyKind

SLUG_HELP = "Lower-case letters, digits and hyphens; used in URLs and the CLI."


class Tenant(TimeStamped):
    """A client company: the owner of its data, its parties and its engagements."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True, help_text=SLUG_HELP)
    time_zone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(max_length=2, blank=True, default="")
    require_mfa = models.BooleanField(
        default=False, help_text="Everyone with access to this tenant must use a second factor."
    )
    is_active = models.BooleanField(default=True)

    # The tenant table is scoped by its own id: a principal sees only its tenants.
    objects = tenant_manager("id")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Provider(TimeStamped):
    """A managed service provider (MSP or MSSP) that tenants may engage.

    Providers are not tenant-owned: one provider serves many tenants. What a provider may
    see of a tenant is decided by that tenant's engagements, never by the provider row.
    """

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True, help_text=SLUG_HELP)
    require_mfa = models.BooleanField(
        default=False, help_text="This provider's staff must use a second factor."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceArea(TenantOwned):
    """A kind of IT work (tier-1 desk, server patching, backup, ...) within one tenant."""

    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="servicearea_unique_key"),
            models.UniqueConstraint(fields=["tenant", "name"], name="servicearea_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Site(TenantOwned):
    """A physical or logical location of the tenant (office, data centre, cloud region)."""

    name = models.CharField(max_length=120)
    address = models.TextField(blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="site_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AssetGroup(TenantOwned):
    """A named set of assets (for example "finance servers"), optionally at one site."""

    name = models.CharField(max_length=120)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="assetgroup_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Engagement(TenantOwned):
    """A tenant's mandate to a provider: what it covers, from when to when, and its status.

    Empty ``sites`` and ``asset_groups`` mean the whole tenant; ``service_areas`` is never
    empty (a mandate always says what work it covers).
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="engagements")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=EngagementStatus.choices, default=EngagementStatus.PENDING
    )
    service_areas = models.ManyToManyField(ServiceArea, related_name="engagements")
    sites = models.ManyToManyField(Site, blank=True, related_name="engagements")
    asset_groups = models.ManyToManyField(AssetGroup, blank=True, related_name="engagements")
    allowed_actions = models.JSONField(default=list, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["tenant__name", "provider__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="engagement_unique_name"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="engagement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


class Party(TenantOwned):
    """A team acting inside a tenant: its internal IT, or a provider through an engagement."""

    kind = models.CharField(max_length=16, choices=PartyKind.choices)
    name = models.CharField(max_length=200)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT)
    engagement = models.OneToOneField(
        Engagement, null=True, blank=True, on_delete=models.PROTECT, related_name="party"
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "parties"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="party_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(kind="internal"),
                name="party_one_internal_per_tenant",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="internal", provider__isnull=True, engagement__isnull=True)
                    | models.Q(kind="provider", provider__isnull=False, engagement__isnull=False)
                ),
                name="party_kind_matches_links",
            ),
        ]

    def __str__(self) -> str:
        return self.name

"""API shapes for tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import FilterSchema, Schema
from pydantic import Field

from tandem.core.api import Id, Input
from tandem.tenancy.queries import scope_of

Name = Field(min_length=1, max_length=200)


class TenantOut(Schema):
    id: int
    name: str
    slug: str
    time_zone: str
    country: str
    require_mfa: bool
    is_active: bool


class TenantIn(Input):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=60)
    time_zone: str = Field(default="UTC", max_length=64)
    country: str = Field(default="", max_length=2)
    require_mfa: bool = False
    owner_email: str | None = Field(default=None, max_length=254)


class TenantPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    require_mfa: bool | None = None


class ProviderOut(Schema):
    id: int
    name: str
    slug: str
    require_mfa: bool
    is_active: bool


class ProviderPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    require_mfa: bool | None = None


class ProviderIn(Input):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=60)
    require_mfa: bool = False


class EngagementOut(Schema):
    id: int
    tenant_id: int
    provider_id: int
    provider_name: str
    name: str
    status: str
    status_reason: str
    service_area_ids: list[int]
    site_ids: list[int]
    asset_group_ids: list[int]
    allowed_actions: list[str]
    starts_on: dt.date
    ends_on: dt.date | None
    accepted_at: dt.datetime | None
    party_id: int | None

    @staticmethod
    def resolve_provider_name(obj: object) -> str:
        return obj.provider.name  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_service_area_ids(obj: Any) -> list[int]:
        return sorted(a.pk for a in scope_of(obj)[0])

    @staticmethod
    def resolve_site_ids(obj: Any) -> list[int]:
        return sorted(s.pk for s in scope_of(obj)[1])

    @staticmethod
    def resolve_asset_group_ids(obj: Any) -> list[int]:
        return sorted(g.pk for g in scope_of(obj)[2])

    @staticmethod
    def resolve_party_id(obj: object) -> int | None:
        party = getattr(obj, "party", None)
        return party.pk if party else None


class EngagementIn(Input):
    tenant_id: Id
    provider_id: Id
    name: str = Field(min_length=1, max_length=200)
    service_area_ids: list[Id] = Field(min_length=1, max_length=500)
    site_ids: list[Id] = Field(default_factory=list, max_length=500)
    asset_group_ids: list[Id] = Field(default_factory=list, max_length=500)
    allowed_actions: list[str] = Field(default_factory=list, max_length=50)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class EngagementPatch(Input):
    service_area_ids: list[Id] | None = Field(default=None, min_length=1, max_length=500)
    site_ids: list[Id] | None = Field(default=None, max_length=500)
    asset_group_ids: list[Id] | None = Field(default=None, max_length=500)
    allowed_actions: list[str] | None = Field(default=None, max_length=50)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class StatusChangeIn(Input):
    reason: str = Field(min_length=1, max_length=500)


class EngagementFilter(FilterSchema):
    tenant_id: Id | None = None
    provider_id: Id | None = None
    status: str | None = None


class PartyOut(Schema):
    id: int
    tenant_id: int
    kind: str
    name: str
    provider_id: int | None
    engagement_id: int | None


class TenantFilter(FilterSchema):
    tenant_id: Id | None = None


class SiteOut(Schema):
    id: int
    tenant_id: int
    name: str
    address: str
    time_zone: str


class SiteIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(default="", max_length=1000)
    time_zone: str = Field(default="", max_length=64)


class SitePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    address: str | None = Field(default=None, max_length=1000)
    time_zone: str | None = Field(default=None, max_length=64)


class AssetGroupOut(Schema):
    id: int
    tenant_id: int
    name: str
    site_id: int | None
    description: str


class AssetGroupIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=120)
    site_id: Id | None = None
    description: str = Field(default="", max_length=5000)


class AssetGroupPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    site_id: Id | None = None
    description: str | None = Field(default=None, max_length=5000)


class ServiceAreaOut(Schema):
    id: int
    tenant_id: int
    key: str
    name: str
    description: str
    is_active: bool


class ServiceAreaIn(Input):
    tenant_id: Id
    key: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=5000)


class ServiceAreaPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    is_active: bool | None = None

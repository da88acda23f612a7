"""API shapes for people and access."""

from __future__ import annotations

import datetime as dt

from ninja import FilterSchema, Schema
from pydantic import Field

from tandem.core.api import Id, Input


class RoleOut(Schema):
    id: int
    key: str
    name: str
    scope: str
    permissions: list[str]
    description: str


class MembershipOut(Schema):
    id: int
    user_id: int
    user_email: str
    user_name: str
    role_key: str
    tenant_id: int | None
    party_id: int | None
    provider_id: int | None
    is_active: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_user_email(obj: object) -> str:
        return obj.user.email  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_user_name(obj: object) -> str:
        return obj.user.full_name  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    def resolve_role_key(obj: object) -> str:
        return obj.role.key  # type: ignore[attr-defined,no-any-return]


class MembershipIn(Input):
    email: str = Field(min_length=3, max_length=254)
    full_name: str = Field(default="", max_length=200)
    role_key: str = Field(min_length=1, max_length=60)
    tenant_id: Id | None = None
    provider_id: Id | None = None


class MembershipChange(Input):
    """A member's new role (``PATCH /memberships/{id}``), in the same tenant or provider."""

    role_key: str = Field(min_length=1, max_length=60)


class MembershipFilter(FilterSchema):
    tenant_id: Id | None = None
    provider_id: Id | None = None
    is_active: bool | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    membership_id: int
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    created_at: dt.datetime


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=100)
    membership_id: Id
    scope: str = Field(default="read", max_length=8)
    expires_in_days: int = Field(default=90, ge=1, le=3650)


class AccessOut(Schema):
    tenant_id: int
    role: str
    party_id: int | None
    provider_id: int | None
    engagement_id: int | None


class MeOut(Schema):
    user_id: int
    email: str
    is_superuser: bool
    accesses: list[AccessOut]
    provider_ids: list[int]

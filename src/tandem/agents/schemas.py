"""The agents API's bodies and answers."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input, Moment


class EnrolmentTokenIn(Input):
    tenant_id: Id
    name: str = Field(min_length=1, max_length=200)
    expires_at: Moment | None = None
    max_uses: int | None = Field(None, ge=1, le=1_000_000)
    site_id: Id | None = None
    asset_group_id: Id | None = None


class EnrolmentTokenOut(Schema):
    id: int
    tenant_id: int
    name: str
    prefix: str
    site_id: int | None
    asset_group_id: int | None
    expires_at: dt.datetime
    max_uses: int | None
    uses: int
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class EnrolmentTokenCreated(EnrolmentTokenOut):
    #: The secret, in this answer only: the server keeps its hash.
    secret: str


class RevokeCredentialsIn(Input):
    reason: str = Field(min_length=1, max_length=500)


class InstalledSoftwareOut(Schema):
    name: str
    version: str
    architecture: str
    source_package: str
    source_version: str


class PendingUpdateOut(Schema):
    name: str
    architecture: str
    current_version: str
    candidate_version: str
    security: bool
    origin: str


class SoftwareChangeOut(Schema):
    name: str
    architecture: str
    kind: str
    from_version: str
    to_version: str
    learned_at: dt.datetime

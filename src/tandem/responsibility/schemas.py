"""API shapes of the responsibility matrix and its coverage."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input


class MatrixRowIn(Input):
    tenant_id: Id
    service_area_id: Id
    responsible_id: Id
    accountable_id: Id
    site_id: Id | None = None
    asset_group_id: Id | None = None
    consulted_ids: list[Id] = Field(default_factory=list, max_length=50)
    informed_ids: list[Id] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=500)


class MatrixRowOut(Schema):
    id: int
    service_area_id: int
    site_id: int | None
    asset_group_id: int | None
    responsible_id: int
    accountable_id: int
    consulted_ids: list[int]
    informed_ids: list[int]
    note: str

    @staticmethod
    def resolve_consulted_ids(obj: Any) -> list[int]:
        return sorted(p.pk for p in obj.consulted.all())

    @staticmethod
    def resolve_informed_ids(obj: Any) -> list[int]:
        return sorted(p.pk for p in obj.informed.all())


class CoverageOut(Schema):
    id: int
    party_id: int
    calendar_id: int
    service_area_id: int | None
    max_priority: int


class FindingOut(Schema):
    kind: str
    message: str
    service_area_id: int | None
    priority: int | None
    windows: list[list[str]]


class MatrixOut(Schema):
    tenant_id: int
    version: int
    rows: list[MatrixRowOut]
    coverage: list[CoverageOut]
    findings: list[FindingOut]


class CoverageIn(Input):
    tenant_id: Id
    party_id: Id
    calendar_id: Id
    service_area_id: Id | None = None
    max_priority: int = Field(default=5, ge=1, le=9)


class CoveragePatch(Input):
    calendar_id: Id | None = None
    #: ``null``: every service area; left out: unchanged.
    service_area_id: Id | None = None
    max_priority: int | None = Field(default=None, ge=1, le=9)

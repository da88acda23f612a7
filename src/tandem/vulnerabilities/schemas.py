"""Request and response shapes of the vulnerabilities API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from tandem.core.api import Input

SeverityName = Literal["critical", "high", "medium", "low", "informational", "unknown"]
StatusName = Literal["open", "risk_accepted", "fixed"]


class VulnerabilityFindingOut(Schema):
    id: int
    tenant_id: int
    device_id: int
    device_name: str
    advisory_id: str
    source: str
    advisory_url: str
    cve_ids: list[str]
    #: Every advisory merged into the finding, the naming one first (one finding per CVE
    #: and package across sources): ``[{"source": "osv", "advisory": "DSA-5724-1"}, ...]``.
    sources: list[dict[str, str]]
    package: str
    binaries: list[str]
    installed_version: str
    fixed_version: str
    unfixed: bool
    severity: str
    cvss_score: Decimal | None
    status: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    fixed_at: dt.datetime | None
    risk_reason: str
    risk_expires_at: dt.datetime | None
    risk_accepted_by_id: int | None
    risk_accepted_at: dt.datetime | None
    update_id: int | None
    update_version: str | None

    # Read from a ``Finding`` (with its device, advisory and update selected).
    @staticmethod
    def resolve_device_name(obj: Any) -> str:
        return str(obj.device.name)

    @staticmethod
    def resolve_advisory_id(obj: Any) -> str:
        return str(obj.advisory_ref)

    @staticmethod
    def resolve_advisory_url(obj: Any) -> str:
        return str(obj.advisory.url) if obj.advisory else ""

    @staticmethod
    def resolve_binaries(obj: Any) -> list[str]:
        return [b for b in obj.binaries.split(", ") if b]

    @staticmethod
    def resolve_cvss_score(obj: Any) -> Decimal | None:
        return obj.advisory.cvss_score if obj.advisory else None

    @staticmethod
    def resolve_update_version(obj: Any) -> str | None:
        return str(obj.update.version) if obj.update else None


class VulnerabilityFindingQuery(Schema):
    status: StatusName | Literal["all"] | None = None
    severity: SeverityName | None = None
    package: str | None = Field(None, max_length=500)
    device_id: int | None = Field(None, ge=1, le=2**63 - 1)
    #: One CVE id (``CVE-2024-3094``): the findings that name it.
    cve: str | None = Field(None, max_length=40)
    q: str | None = Field(None, max_length=200)
    unfixed: bool | None = None


class AcceptRiskIn(Input):
    reason: str = Field(min_length=1, max_length=1000)
    expires_at: dt.datetime


class PackageCountOut(Schema):
    package: str
    findings: int
    devices: int
    worst: str


class DeviceCountOut(Schema):
    device_id: int
    name: str
    open: dict[str, int]
    total: int


class VulnerabilitySummaryOut(Schema):
    tenant_id: int
    open_by_severity: dict[str, int]
    by_status: dict[str, int]
    unfixed: int
    top_packages: list[PackageCountOut]
    most_exposed_devices: list[DeviceCountOut]

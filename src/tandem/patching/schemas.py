"""The patching API's bodies and answers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from tandem.core.api import Id, Input

Action = Literal["auto", "manual", "exclude"]


class UpdateStateOut(Schema):
    id: int
    device_id: int
    entry_id: int
    package: str
    version: str
    item_id: str
    classification: str
    severity: str
    cve_ids: list[str]
    status: str
    missing_since: dt.datetime
    installed_at: dt.datetime | None
    approval: str
    approved_by_id: int | None
    approved_party_id: int | None
    approved_at: dt.datetime | None
    last_job_outcome: str
    last_job_at: dt.datetime | None


class SummaryOut(Schema):
    tenant_id: int
    missing_by_severity: dict[str, int]
    awaiting_approval: int
    devices: list[dict[str, Any]]


class DecisionIn(Input):
    entry_ids: list[Id] = Field(min_length=1, max_length=1000)
    approve: bool
    reason: str = Field("", max_length=500)


class QueueItemOut(Schema):
    tenant_id: int
    device_id: int
    device_name: str
    entry_id: int
    package: str
    version: str
    severity: str
    missing_since: dt.datetime
    party_name: str


class EffectivePolicyOut(Schema):
    values: dict[str, Any]
    sources: dict[str, str]
    excluded_packages: dict[str, list[str]]
    approver_party_id: int | None
    approver_reason: str


class PolicySettingsIn(Input):
    security_critical: Action | None = None
    security_high: Action | None = None
    security_medium: Action | None = None
    security_low: Action | None = None
    security_unknown: Action | None = None
    bugfix: Action | None = None
    feature: Action | None = None
    auto_approve_after_days: int | None = Field(None, ge=0, le=365)
    ring_id: Id | None = None
    maintenance_window_id: Id | None = None
    reboot_mode: Literal["never", "if_required", "always"] | None = None
    reboot_deadline_hours: int | None = Field(None, ge=0, le=720)


class PolicyIn(Input):
    level: Literal["tenant", "site", "asset_group", "device"]
    #: The site, asset group or device the policy is for (none for the tenant level).
    target_id: Id | None = None
    settings: PolicySettingsIn
    excluded_packages: list[str] = Field(default_factory=list, max_length=1000)


class PolicyOut(Schema):
    id: int
    level: str
    site_id: int | None
    asset_group_id: int | None
    device_id: int | None
    excluded_packages: list[str]


class WindowIn(Input):
    name: str = Field(min_length=1, max_length=120)
    rrule: str = Field(min_length=1, max_length=500)
    #: Local wall-clock time of the first window (any offset given is ignored).
    first_start: dt.datetime
    time_zone: str = Field(min_length=1, max_length=64)
    duration_minutes: int = Field(ge=1, le=7 * 24 * 60)


class WindowOut(Schema):
    id: int
    name: str
    rrule: str
    time_zone: str
    duration_minutes: int
    next_start: dt.datetime | None
    next_end: dt.datetime | None


class RingIn(Input):
    name: str = Field(min_length=1, max_length=120)
    order: int = Field(0, ge=0, le=100)
    deferral_days: int = Field(0, ge=0, le=365)
    min_successes: int = Field(0, ge=0, le=100_000)
    max_failure_percent: int = Field(100, ge=0, le=100)


class RingOut(Schema):
    id: int
    name: str
    order: int
    deferral_days: int
    min_successes: int
    max_failure_percent: int


#: A compliance preset's name (``compliance.Preset``).
PresetName = Literal["cyber_essentials", "cis_7_3", "essential_eight", "custom"]


class ComplianceSettingsIn(Input):
    preset: PresetName
    #: The custom preset's deadline (days); others keep it for later.
    days: int | None = Field(None, ge=1, le=365)
    staleness_days: int | None = Field(None, ge=1, le=365)
    reboot_debt_days: int | None = Field(None, ge=0, le=365)
    internet_facing_group_id: Id | None = None


class ComplianceSettingsOut(Schema):
    preset: str
    days: int
    staleness_days: int
    reboot_debt_days: int
    internet_facing_group_id: int | None


class ComplianceOut(Schema):
    tenant_id: int
    #: The preset these figures are judged by (the one asked for, else the tenant's).
    preset: str
    #: The tenant's own preset (its settings).
    chosen_preset: str
    rule: str
    staleness_days: int
    reboot_debt_days: int
    period_start: dt.datetime
    #: The moment the figures hold for: the snapshot's time when ``from_snapshot``.
    now: dt.datetime
    #: Read from the worker's snapshot (refreshed every minute when changed, else every
    #: 15 minutes), not computed for this request (decision 0048).
    from_snapshot: bool
    #: A change happened after the snapshot; the worker takes it in on its next run.
    stale: bool
    overall: dict[str, Any]
    by_site: list[dict[str, Any]]
    by_party: list[dict[str, Any]]

"""API shapes of rule packs and the tenant's rule choices (decision 0044)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from tandem.core.api import Input


class RefusalOut(Schema):
    source: str
    reason: str
    rule_id: str | None = None
    title: str | None = None


class PackOut(Schema):
    id: int
    name: str
    version: str
    content_hash: str
    rule_count: int
    refused_count: int
    last_loaded_at: dt.datetime

    @staticmethod
    def resolve_refused_count(obj: Any) -> int:
        return len(obj["refused"] if isinstance(obj, dict) else obj.refused)


class PackDetailOut(PackOut):
    is_current: bool
    refused: list[RefusalOut]


class PackRuleOut(Schema):
    rule_id: str
    title: str
    level: str
    logsource: str
    source: str
    is_correlation: bool


class PackRuleQuery(Schema):
    search: str = Field("", max_length=200)


class TenantPackOut(Schema):
    id: int
    name: str
    version: str
    rule_count: int
    enabled: bool
    reason: str
    rules_off: int


class WaitingRuleOut(Schema):
    """An installed rule that expands placeholders, as the tenant has it: ``runs`` when
    each has a list; else refused, for want of ``missing``."""

    rule_id: str
    title: str
    pack_name: str
    pack_id: int
    placeholders: list[str]
    missing: list[str]
    runs: bool


class TenantRulesOut(Schema):
    tenant_id: int
    packs: list[TenantPackOut]
    custom_rule_count: int
    #: The installed rules that expand placeholders: which run here, which still wait.
    placeholder_rules: list[WaitingRuleOut] = []


class PackSettingIn(Input):
    enabled: bool
    reason: str = Field("", max_length=2000)


class DisabledRuleOut(Schema):
    rule_id: str
    pack_name: str
    title: str
    reason: str
    changed_label: str
    created_at: dt.datetime


class RuleStateIn(Input):
    rule_id: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=2000)


class CustomRuleOut(Schema):
    id: int
    tenant_id: int
    rule_id: str
    title: str
    level: str
    logsource: str
    is_correlation: bool
    file_name: str
    version: int
    enabled: bool
    disabled_reason: str
    changed_label: str
    updated_at: dt.datetime


class CustomRuleDetailOut(CustomRuleOut):
    source: str


class CustomRuleQuery(Schema):
    tenant_id: int | None = Field(None, ge=1, le=2**63 - 1)


class CustomRuleUploadIn(Input):
    """Sigma YAML as text: one rule, or several documents separated by ``---``."""

    source: str = Field(min_length=1, max_length=2_000_000)
    file_name: str = Field("upload.yml", min_length=1, max_length=200)


class CustomRuleEditIn(Input):
    source: str = Field(min_length=1, max_length=64_000)


class ReasonIn(Input):
    reason: str = Field("", max_length=2000)


# --- Placeholder lists (decision 0051) -----------------------------------------------------


#: One value as the API reads it: a hard cap on what is parsed at all; the service says
#: plainly when a value is over its 500 characters.
PlaceholderValue = Annotated[str, Field(max_length=10_000)]


class PlaceholderListOut(Schema):
    id: int
    tenant_id: int
    name: str
    values: list[str]
    description: str
    changed_label: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PlaceholderListIn(Input):
    """A new list: the name as rules write it between the percent signs, its values."""

    name: str = Field(min_length=1, max_length=102)
    values: list[PlaceholderValue] = Field(min_length=1, max_length=1000)
    description: str = Field("", max_length=2000)


class PlaceholderValuesIn(Input):
    """New values for a list (they replace the old ones); the description when given."""

    values: list[PlaceholderValue] = Field(min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=2000)


class PlaceholderListQuery(Schema):
    tenant_id: int | None = Field(None, ge=1, le=2**63 - 1)

"""Reads of rule packs and the tenant's rule choices (decision 0044): the installed packs
and their rules, whether a reader reaches a tenant's rule pages, what the tenant turned
off and uploaded, and what the detection worker needs per batch (the rules version, then
the choices when it moved).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.request import NOT_FOUND, tenant_in_reach
from tandem.core.scoping import within_tenant
from tandem.detection.engine import missing_placeholders
from tandem.detection.models import (
    CustomRule,
    DisabledRule,
    InstalledPack,
    PackRule,
    PackSetting,
    PlaceholderList,
    RuleSettings,
)
from tandem.detection.permissions import SECURITY_AREA_KEY, VIEW_RULES
from tandem.detection.policies import may_read_rules_in
from tandem.tenancy.models import ServiceArea, Tenant


def current_packs() -> QuerySet[InstalledPack]:
    """The current version of every installed pack (instance data, the same for all)."""
    return InstalledPack.objects.filter(is_current=True).order_by("name", "id")


def installed_packs() -> list[InstalledPack]:
    return list(current_packs())


def installed_pack(pack_id: int) -> InstalledPack:
    """One installed pack version (any, current or not), else 404."""
    found = InstalledPack.objects.filter(pk=pack_id).first()
    if found is None:
        raise Http404(NOT_FOUND)
    return found


def pack_rules(pack: InstalledPack, search: str = "") -> QuerySet[PackRule]:
    """The rules of one pack version, by title; ``search`` in the title or id."""
    rows = PackRule.objects.filter(pack=pack)
    if search:
        rows = rows.filter(Q(title__icontains=search) | Q(rule_id__icontains=search))
    return rows.order_by("title", "id")


def installed_rule(rule_id: str) -> PackRule | None:
    """The rule of a current installed pack with this id (None when there is none)."""
    return (
        PackRule.objects.filter(pack__is_current=True, rule_id=rule_id)
        .select_related("pack")
        .first()
    )


def security_area_id(tenant_id: int) -> int | None:
    """The tenant's security monitoring service area (None when it has none)."""
    with within_tenant(tenant_id):
        return (
            ServiceArea.objects.filter(tenant_id=tenant_id, key=SECURITY_AREA_KEY)
            .values_list("pk", flat=True)
            .first()
        )


def rules_tenant(principal: Principal, tenant_id: int, action: str = VIEW_RULES) -> Tenant:
    """The tenant whose rule pages the reader opens: one it may ``action`` in through its
    own IT, or through an engagement covering the tenant's security monitoring; anyone
    else gets 404 (a provider engaged for other work does not learn of them)."""
    tenant = tenant_in_reach(principal, tenant_id, action)
    if principal.is_system:
        return tenant
    area_id = security_area_id(tenant.pk)
    if any(may_read_rules_in(a, area_id) for a in principal.accesses_with(action, tenant.pk)):
        return tenant
    raise Http404(NOT_FOUND)


def pack_settings(principal: Principal, tenant_id: int) -> dict[str, PackSetting]:
    """The tenant's pack settings the reader sees, by pack name."""
    rows = visible(principal, VIEW_RULES, PackSetting.objects.filter(tenant_id=tenant_id))
    return {row.pack_name: row for row in rows}


def disabled_rules(principal: Principal, tenant_id: int) -> QuerySet[DisabledRule]:
    """The built-in rules the tenant turned off, by title."""
    return visible(
        principal, VIEW_RULES, DisabledRule.objects.filter(tenant_id=tenant_id)
    ).order_by("title", "rule_id")


def custom_rules(principal: Principal, tenant_id: int | None = None) -> QuerySet[CustomRule]:
    """The custom rules the reader sees (one tenant's when given), by title."""
    rows = CustomRule.objects.select_related("tenant")
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return visible(principal, VIEW_RULES, rows).order_by("title", "id")


def custom_rule(principal: Principal, rule_pk: int, action: str = VIEW_RULES) -> CustomRule:
    """One custom rule the reader may ``action`` (404 out of reach)."""
    return get_visible_or_404(
        principal, action, CustomRule.objects.select_related("tenant"), pk=rule_pk
    )


def placeholder_lists(
    principal: Principal, tenant_id: int | None = None
) -> QuerySet[PlaceholderList]:
    """The placeholder lists the reader sees (one tenant's when given), by name."""
    rows = PlaceholderList.objects.select_related("tenant", "changed_by")
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return visible(principal, VIEW_RULES, rows).order_by("name", "id")


def placeholder_list(
    principal: Principal, list_pk: int, action: str = VIEW_RULES
) -> PlaceholderList:
    """One placeholder list the reader may ``action`` (404 out of reach)."""
    return get_visible_or_404(
        principal, action, PlaceholderList.objects.select_related("tenant"), pk=list_pk
    )


@dataclass(frozen=True)
class WaitingRule:
    """A rule of a current installed pack refused only for placeholders without a value,
    as one tenant has it: the placeholders it expands and those the tenant lacks."""

    rule_id: str
    title: str
    pack_name: str
    pack_id: int
    source: str
    placeholders: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def runs(self) -> bool:
        """Whether the tenant's lists give every placeholder the rule expands a value."""
        return not self.missing


def waiting_rules(names: set[str] | frozenset[str]) -> list[WaitingRule]:
    """The installed rules that need placeholder values, for a tenant with lists ``names``
    (read from the current packs' refusals: no rule file is opened)."""
    found = []
    for pack in installed_packs():
        for refusal in pack.refused:
            wanted = missing_placeholders(str(refusal.get("reason", "")))
            if not wanted:
                continue
            found.append(
                WaitingRule(
                    rule_id=str(refusal.get("rule_id") or refusal.get("source", "")),
                    title=str(refusal.get("title") or refusal.get("source", "")),
                    pack_name=pack.name,
                    pack_id=pack.pk,
                    source=str(refusal.get("source", "")),
                    placeholders=wanted,
                    missing=tuple(n for n in wanted if n not in names),
                )
            )
    return sorted(found, key=lambda rule: (rule.title, rule.rule_id))


def waiting_rule(rule_id: str) -> WaitingRule | None:
    """The installed rule with this id that waits for placeholder values (None if none)."""
    return next((rule for rule in waiting_rules(set()) if rule.rule_id == rule_id), None)


def rules_by_placeholder(waiting: list[WaitingRule]) -> dict[str, list[WaitingRule]]:
    """Placeholder name → the installed rules that expand it."""
    found: dict[str, list[WaitingRule]] = {}
    for rule in waiting:
        for name in rule.placeholders:
            found.setdefault(name, []).append(rule)
    return found


# --- What the detection worker reads -------------------------------------------------------


def rules_version(tenant_id: int) -> int:
    """The tenant's rules version (0 before its first change): one indexed read a batch."""
    with within_tenant(tenant_id):
        found = (
            RuleSettings.objects.filter(tenant_id=tenant_id)
            .values_list("rules_version", flat=True)
            .first()
        )
    return found or 0


@dataclass(frozen=True)
class TenantChoices:
    """What the tenant turned off, its enabled custom rules (rule id → YAML) and its
    placeholder values (name → values)."""

    disabled_packs: frozenset[str]
    disabled_rules: frozenset[str]
    custom_sources: dict[str, str]
    placeholders: dict[str, list[str]] = field(default_factory=dict)


def tenant_choices(tenant_id: int) -> TenantChoices:
    """Four reads: the packs off, the rules off, the enabled custom rules, the
    placeholder lists."""
    with within_tenant(tenant_id):
        packs = PackSetting.objects.filter(tenant_id=tenant_id, enabled=False)
        rules = DisabledRule.objects.filter(tenant_id=tenant_id)
        custom = CustomRule.objects.filter(tenant_id=tenant_id, enabled=True)
        return TenantChoices(
            disabled_packs=frozenset(packs.values_list("pack_name", flat=True)),
            disabled_rules=frozenset(rules.values_list("rule_id", flat=True)),
            custom_sources=dict(custom.values_list("rule_id", "source")),
            placeholders=tenant_placeholders(tenant_id),
        )


def tenant_placeholders(tenant_id: int) -> dict[str, list[str]]:
    """The tenant's placeholder values, name → values (what rules are compiled with)."""
    with within_tenant(tenant_id):
        rows = PlaceholderList.objects.filter(tenant_id=tenant_id)
        return {name: list(values) for name, values in rows.values_list("name", "values")}


def stored_sources(
    tenant_id: int, *, leave_out: set[str] | frozenset[str] = frozenset()
) -> dict[str, str]:
    """The tenant's custom rules (rule id → YAML) but ``leave_out``: what an upload's
    correlations may reference."""
    with within_tenant(tenant_id):
        rows = CustomRule.objects.filter(tenant_id=tenant_id).exclude(rule_id__in=leave_out)
        return dict(rows.values_list("rule_id", "source"))


def tenant_packs(principal: Principal, tenant_id: int) -> list[dict[str, object]]:
    """Each installed pack as the tenant has it: on or off (with the reason), and how many
    of its rules the tenant turned off."""
    settings_by_pack = pack_settings(principal, tenant_id)
    off: dict[str, int] = {}
    for name in disabled_rules(principal, tenant_id).values_list("pack_name", flat=True):
        off[name] = off.get(name, 0) + 1
    found = []
    for pack in installed_packs():
        setting = settings_by_pack.get(pack.name)
        found.append(
            {
                "id": pack.pk,
                "name": pack.name,
                "version": pack.version,
                "rule_count": pack.rule_count,
                "enabled": setting.enabled if setting is not None else True,
                "reason": setting.reason if setting is not None else "",
                "rules_off": off.get(pack.name, 0),
            }
        )
    return found

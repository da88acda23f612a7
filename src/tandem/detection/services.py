"""Every write of rule packs and the tenant's rule choices (decision 0044).

Each function is ``verb_noun(*, actor, ...)``, one transaction, audited inside it. Every
change of a tenant's rules also raises its ``rules_version`` in that transaction
(:func:`_bump`): the detection worker compares it once per batch and rebuilds the tenant's
rules when it moved, so a change applies without restarting the worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.detection import queries
from tandem.detection.engine import RuleSet, load_rules_text
from tandem.detection.models import (
    MAX_RULE_ID,
    CustomRule,
    DisabledRule,
    InstalledPack,
    PackRule,
    PackSetting,
    PlaceholderList,
    RuleSettings,
)
from tandem.detection.permissions import CHANGE_RULES
from tandem.detection.placeholders import (
    MAX_DESCRIPTION,
    MAX_LISTS,
    clean_name,
    clean_values,
)
from tandem.detection.policies import changing_access
from tandem.detection.uploads import AcceptedRule, check_upload
from tandem.tenancy.models import Tenant

MAX_REASON = 2000
#: The largest upload read (a YAML file or a zip).
MAX_UPLOAD_BYTES = 2_000_000
#: Refusals kept per pack version (the community set has a few dozen).
MAX_REFUSALS_KEPT = 5000


def _source_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bump(tenant_id: int) -> int:
    """Raise the tenant's rules version (inside the caller's transaction)."""
    found, _ = RuleSettings.objects.get_or_create(tenant_id=tenant_id)
    RuleSettings.objects.filter(pk=found.pk).update(rules_version=F("rules_version") + 1)
    return found.rules_version + 1


def _changing(actor: Principal, tenant: Tenant) -> int | None:
    """The tenant's security area id, once the actor may change its rules (else 403)."""
    area_id = queries.security_area_id(tenant.pk)
    if not actor.is_system and changing_access(actor, tenant.pk, area_id) is None:
        raise PermissionDenied(f"not allowed: {CHANGE_RULES}")
    return area_id


def _stamp(actor: Principal, area_id: int | None) -> dict[str, object]:
    """The fields every new tenant rule row carries: its area and who made it."""
    return {
        "service_area_id": area_id,
        "changed_by_id": actor.user_id,
        "changed_label": actor.label[:200],
    }


def _reason(reason: str, *, required: bool) -> str:
    text = clean_text(reason, field="reason", max_length=MAX_REASON)
    require(bool(text) or not required, "reason", "Say why (a reason is required).")
    return text


# --- Installed packs (instance data) -------------------------------------------------------


def sync_installed_packs(*, actor: Principal, rulesets: Sequence[RuleSet]) -> list[InstalledPack]:
    """Record the packs the worker loaded: a version not seen before becomes a row with its
    rules and refusals (audited on the instance chain); the version loaded is marked
    current and the pack's other versions not."""
    require(actor.is_system, "actor", "Only the system records installed packs.")
    now = timezone.now()
    found: list[InstalledPack] = []
    with transaction.atomic():
        for ruleset in rulesets:
            pack = ruleset.pack
            row = InstalledPack.objects.filter(
                name=pack.name, content_hash=pack.content_hash
            ).first()
            InstalledPack.objects.filter(name=pack.name).exclude(
                content_hash=pack.content_hash
            ).update(is_current=False)
            if row is not None:
                row.is_current = True
                row.last_loaded_at = now
                row.save(update_fields=["is_current", "last_loaded_at", "updated_at"])
                found.append(row)
                continue
            row = InstalledPack.objects.create(
                name=pack.name[:100],
                version=pack.version[:100],
                content_hash=pack.content_hash,
                rule_count=len(ruleset.loaded) + len(ruleset.correlations),
                refused=[
                    {
                        "source": r.source,
                        "reason": r.reason,
                        "rule_id": r.rule_id,
                        "title": r.title,
                    }
                    for r in ruleset.refused[:MAX_REFUSALS_KEPT]
                ],
                is_current=True,
                last_loaded_at=now,
            )
            PackRule.objects.bulk_create(
                [
                    PackRule(
                        pack=row,
                        rule_id=r.rule_id[:MAX_RULE_ID],
                        title=r.title[:300],
                        level=r.level[:20],
                        logsource="/".join(
                            p
                            for p in (
                                r.logsource.product,
                                r.logsource.category,
                                r.logsource.service,
                            )
                            if p
                        )[:200],
                        source=r.source[:500],
                    )
                    for r in ruleset.loaded
                ]
                + [
                    PackRule(
                        pack=row,
                        rule_id=c.rule_id[:MAX_RULE_ID],
                        title=c.title[:300],
                        level=c.level[:20],
                        source=c.source[:500],
                        is_correlation=True,
                    )
                    for c in ruleset.correlations
                ],
                batch_size=1000,
            )
            record_audit(
                actor=actor,
                action="detection.install_pack",
                target=row,
                tenant_id=None,
                changes=diff(
                    {},
                    {
                        "name": row.name,
                        "version": row.version,
                        "content_hash": row.content_hash,
                        "rule_count": row.rule_count,
                        "refused_count": len(ruleset.refused),
                    },
                ),
            )
            found.append(row)
    return found


# --- Packs and built-in rules per tenant ---------------------------------------------------


def set_pack_enabled(
    *, actor: Principal, tenant: Tenant, pack_name: str, enabled: bool, reason: str = ""
) -> PackSetting:
    """Turn an installed pack off for the tenant (a reason is required) or back on."""
    text = _reason(reason, required=not enabled)
    names = {p.name for p in queries.installed_packs()}
    require(pack_name in names, "pack", "No such installed pack.")
    with transaction.atomic(), within_tenant(tenant.pk):
        area_id = _changing(actor, tenant)
        row = (
            PackSetting.objects.select_for_update()
            .filter(tenant=tenant, pack_name=pack_name)
            .first()
        )
        before = row.enabled if row is not None else True
        if before == enabled:
            raise Conflict(f"The pack is {'on' if enabled else 'off'} already.")
        if row is None:
            row = PackSetting(tenant=tenant, pack_name=pack_name)
        row.enabled = enabled
        row.reason = text
        row.service_area_id = area_id
        row.changed_by_id = actor.user_id
        row.changed_label = actor.label[:200]
        row.save()
        _bump(tenant.pk)
        record_audit(
            actor=actor,
            action="detection.enable_pack" if enabled else "detection.disable_pack",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(
                {"pack": pack_name, "enabled": before},
                {"pack": pack_name, "enabled": enabled, "reason": text or None},
            ),
        )
    return row


def disable_rule(*, actor: Principal, tenant: Tenant, rule_id: str, reason: str) -> DisabledRule:
    """Turn one built-in rule off for the tenant, with the reason (its alerts stop; other
    tenants keep it). A rule waiting for placeholder values may be turned off too: it then
    stays off when the tenant's lists complete it."""
    rule_id = (rule_id or "").strip()
    require(0 < len(rule_id) <= MAX_RULE_ID, "rule_id", "Name the rule by its id.")
    text = _reason(reason, required=True)
    rule = queries.installed_rule(rule_id) or queries.waiting_rule(rule_id)
    require(rule is not None, "rule_id", "No installed rule has this id.")
    assert rule is not None
    pack_name = rule.pack_name if isinstance(rule, queries.WaitingRule) else rule.pack.name
    with transaction.atomic(), within_tenant(tenant.pk):
        area_id = _changing(actor, tenant)
        if DisabledRule.objects.filter(tenant=tenant, rule_id=rule_id).exists():
            raise Conflict("The rule is off already.")
        row = DisabledRule.objects.create(
            tenant=tenant,
            rule_id=rule_id,
            pack_name=pack_name,
            title=rule.title,
            reason=text,
            **_stamp(actor, area_id),
        )
        _bump(tenant.pk)
        record_audit(
            actor=actor,
            action="detection.disable_rule",
            target=row,
            tenant_id=tenant.pk,
            changes=diff({}, {"rule_id": rule_id, "pack": pack_name, "reason": text}),
        )
    return row


def enable_rule(*, actor: Principal, tenant: Tenant, rule_id: str, reason: str = "") -> None:
    """Turn a built-in rule the tenant had turned off back on."""
    text = _reason(reason, required=False)
    with transaction.atomic(), within_tenant(tenant.pk):
        _changing(actor, tenant)
        row = (
            DisabledRule.objects.select_for_update().filter(tenant=tenant, rule_id=rule_id).first()
        )
        if row is None:
            raise Conflict("The rule is on already.")
        record_audit(
            actor=actor,
            action="detection.enable_rule",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(
                {"rule_id": rule_id, "disabled_reason": row.reason},
                {"rule_id": rule_id, "reason": text or None},
            ),
        )
        row.delete()
        _bump(tenant.pk)


# --- Custom rules --------------------------------------------------------------------------


def _refuse_installed_ids(accepted: Sequence[AcceptedRule]) -> None:
    problems: dict[str, list[str]] = {}
    waiting = {r.rule_id: r for r in queries.waiting_rules(set())}
    for rule in accepted:
        found = queries.installed_rule(rule.rule_id) or waiting.get(rule.rule_id)
        if found is not None:
            pack = found.pack_name if isinstance(found, queries.WaitingRule) else found.pack.name
            problems.setdefault(rule.file_name, []).append(
                f"{rule.title}: id {rule.rule_id} is the id of {found.title!r} in the "
                f"{pack} pack: give your rule an id of its own"
            )
    if problems:
        raise InvalidInput(problems)


def upload_custom_rules(
    *, actor: Principal, tenant: Tenant, files: Mapping[str, bytes]
) -> list[CustomRule]:
    """Check an upload (Sigma YAML, one or several documents, or a zip of them) with the
    engine's loader and compiler; store every rule it holds, or none: any problem refuses
    the whole upload (422, per file). A rule whose id the tenant has already replaces it
    (its version goes up; the audit entry keeps the old and new source)."""
    require(bool(files), "file", "Choose a file of Sigma rules (YAML or zip).")
    with transaction.atomic(), within_tenant(tenant.pk):
        area_id = _changing(actor, tenant)
        placeholders = queries.tenant_placeholders(tenant.pk)
        checked = check_upload(
            files, stored=queries.stored_sources(tenant.pk), placeholders=placeholders
        )
        if not checked.ok:
            raise InvalidInput(checked.problems)
        # Compiled once more without the stored rules they replace, so that a correlation
        # of the upload refers to the upload's version of a rule.
        ids = {rule.rule_id for rule in checked.accepted}
        if stored := queries.stored_sources(tenant.pk, leave_out=ids):
            checked = check_upload(files, stored=stored, placeholders=placeholders)
            if not checked.ok:
                raise InvalidInput(checked.problems)
        _refuse_installed_ids(checked.accepted)
        saved = [_store(actor, tenant, area_id, rule) for rule in checked.accepted]
        _bump(tenant.pk)
    return saved


def _store(actor: Principal, tenant: Tenant, area_id: int | None, rule: AcceptedRule) -> CustomRule:
    row = CustomRule.objects.select_for_update().filter(tenant=tenant, rule_id=rule.rule_id).first()
    before = (
        {"version": row.version, "source_sha256": _source_hash(row.source), "source": row.source}
        if row is not None
        else {}
    )
    if row is None:
        row = CustomRule(tenant=tenant, rule_id=rule.rule_id, version=1)
    else:
        row.version += 1
    row.title = rule.title
    row.level = rule.level
    row.logsource = rule.logsource
    row.is_correlation = rule.is_correlation
    row.source = rule.source
    row.file_name = rule.file_name
    row.service_area_id = area_id
    row.changed_by_id = actor.user_id
    row.changed_label = actor.label[:200]
    row.save()
    record_audit(
        actor=actor,
        action="detection.replace_custom_rule" if before else "detection.add_custom_rule",
        target=row,
        tenant_id=tenant.pk,
        changes=diff(
            before,
            {
                "version": row.version,
                "source_sha256": _source_hash(row.source),
                "source": row.source,
                "title": row.title,
            },
        ),
    )
    return row


def edit_custom_rule(*, actor: Principal, rule: CustomRule, source: str) -> CustomRule:
    """Replace a custom rule's YAML (checked like an upload; the id must stay the same)."""
    authorize(actor, CHANGE_RULES, rule)
    require(bool((source or "").strip()), "source", "Give the rule's YAML.")
    with transaction.atomic(), within_tenant(rule.tenant_id):
        area_id = _changing(actor, rule.tenant)
        checked = check_upload(
            {rule.file_name or f"{rule.rule_id}.yml": source.encode()},
            stored=queries.stored_sources(rule.tenant_id, leave_out={rule.rule_id}),
            placeholders=queries.tenant_placeholders(rule.tenant_id),
        )
        if not checked.ok:
            raise InvalidInput(checked.problems)
        require(len(checked.accepted) == 1, "source", "Give exactly one rule.")
        accepted = checked.accepted[0]
        require(
            accepted.rule_id == rule.rule_id,
            "source",
            f"The id must stay {rule.rule_id}: upload a rule with another id as a new rule.",
        )
        saved = _store(actor, rule.tenant, area_id, accepted)
        _bump(rule.tenant_id)
    return saved


def set_custom_rule_enabled(
    *, actor: Principal, rule: CustomRule, enabled: bool, reason: str = ""
) -> CustomRule:
    """Turn a custom rule off (a reason is required) or back on."""
    authorize(actor, CHANGE_RULES, rule)
    text = _reason(reason, required=not enabled)
    with transaction.atomic(), within_tenant(rule.tenant_id):
        _changing(actor, rule.tenant)
        locked = CustomRule.objects.select_for_update().get(pk=rule.pk)
        if locked.enabled == enabled:
            raise Conflict(f"The rule is {'on' if enabled else 'off'} already.")
        locked.enabled = enabled
        locked.disabled_reason = "" if enabled else text
        locked.changed_by_id = actor.user_id
        locked.changed_label = actor.label[:200]
        locked.save()
        _bump(locked.tenant_id)
        record_audit(
            actor=actor,
            action="detection.enable_custom_rule" if enabled else "detection.disable_custom_rule",
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff({"enabled": not enabled}, {"enabled": enabled, "reason": text or None}),
        )
    return locked


def delete_custom_rule(*, actor: Principal, rule: CustomRule) -> None:
    """Delete a custom rule (the audit entry keeps its last source)."""
    authorize(actor, CHANGE_RULES, rule)
    with transaction.atomic(), within_tenant(rule.tenant_id):
        _changing(actor, rule.tenant)
        record_audit(
            actor=actor,
            action="detection.delete_custom_rule",
            target=rule,
            tenant_id=rule.tenant_id,
            changes=diff(
                {"rule_id": rule.rule_id, "version": rule.version, "source": rule.source}, {}
            ),
        )
        CustomRule.objects.filter(pk=rule.pk).delete()
        _bump(rule.tenant_id)


# --- Placeholder lists (decision 0051) -----------------------------------------------------


def create_placeholder_list(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    values: Sequence[str],
    description: str = "",
) -> PlaceholderList:
    """Give the placeholder ``%name%`` the tenant's values: the installed rules refused
    only for want of it (and of the tenant's other lists) run for the tenant from the
    detection worker's next batch, and custom rules may expand it (409 when the tenant
    has a list of that name)."""
    name = clean_name(name)
    cleaned = clean_values(values)
    text = clean_text(description, field="description", max_length=MAX_DESCRIPTION)
    with transaction.atomic(), within_tenant(tenant.pk):
        area_id = _changing(actor, tenant)
        lists = PlaceholderList.objects.filter(tenant=tenant)
        if lists.filter(name=name).exists():
            raise Conflict(f"This tenant has a list %{name}% already: change its values.")
        require(lists.count() < MAX_LISTS, "name", f"A tenant holds at most {MAX_LISTS} lists.")
        row = PlaceholderList.objects.create(
            tenant=tenant,
            name=name,
            values=cleaned,
            description=text,
            **_stamp(actor, area_id),
        )
        _bump(tenant.pk)
        record_audit(
            actor=actor,
            action="detection.add_placeholder_list",
            target=row,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": name, "values": cleaned, "description": text}),
        )
    return row


def edit_placeholder_list(
    *,
    actor: Principal,
    placeholder_list: PlaceholderList,
    values: Sequence[str],
    description: str | None = None,
) -> PlaceholderList:
    """Replace a list's values (and its description when given); the name stays, as the
    rules name it. The audit entry keeps the old and new values."""
    authorize(actor, CHANGE_RULES, placeholder_list)
    cleaned = clean_values(values)
    text = (
        None
        if description is None
        else clean_text(description, field="description", max_length=MAX_DESCRIPTION)
    )
    with transaction.atomic(), within_tenant(placeholder_list.tenant_id):
        _changing(actor, placeholder_list.tenant)
        row = PlaceholderList.objects.select_for_update().get(pk=placeholder_list.pk)
        before = {"values": list(row.values), "description": row.description}
        new_description = row.description if text is None else text
        after = {"values": cleaned, "description": new_description}
        if before == after:
            raise Conflict("Nothing to change: the list holds these values already.")
        row.values = cleaned
        row.description = new_description
        row.changed_by_id = actor.user_id
        row.changed_label = actor.label[:200]
        row.save()
        _bump(row.tenant_id)
        record_audit(
            actor=actor,
            action="detection.change_placeholder_list",
            target=row,
            tenant_id=row.tenant_id,
            changes=diff({"name": row.name, **before}, {"name": row.name, **after}),
        )
    return row


def delete_placeholder_list(*, actor: Principal, placeholder_list: PlaceholderList) -> None:
    """Delete a list: the installed rules that expand it are refused for the tenant again
    from the next batch. Refused (409) while an enabled custom rule of the tenant expands
    it: turn that rule off or edit it first. The audit entry keeps the last values."""
    authorize(actor, CHANGE_RULES, placeholder_list)
    with transaction.atomic(), within_tenant(placeholder_list.tenant_id):
        _changing(actor, placeholder_list.tenant)
        row = PlaceholderList.objects.select_for_update().get(pk=placeholder_list.pk)
        remaining = queries.tenant_placeholders(row.tenant_id)
        remaining.pop(row.name, None)
        if needing := _custom_rules_needing(row.tenant_id, row.name, remaining):
            raise Conflict(
                f"Custom rules expand %{row.name}%: {', '.join(needing[:5])}. "
                "Turn them off or edit them before deleting the list."
            )
        record_audit(
            actor=actor,
            action="detection.delete_placeholder_list",
            target=row,
            tenant_id=row.tenant_id,
            changes=diff(
                {"name": row.name, "values": list(row.values), "description": row.description},
                {},
            ),
        )
        row.delete()
        _bump(row.tenant_id)


def _custom_rules_needing(
    tenant_id: int, name: str, remaining: Mapping[str, Sequence[str]]
) -> list[str]:
    """The titles of the tenant's enabled custom rules that would be refused for want of
    ``%name%`` once it is gone (compiled by the engine, as the worker would)."""
    sources = queries.tenant_choices(tenant_id).custom_sources
    candidates = {
        f"custom/{rule_id}.yml": text for rule_id, text in sources.items() if f"%{name}%" in text
    }
    if not candidates:
        return []
    ruleset = load_rules_text(candidates, placeholders=remaining)
    return sorted(
        refusal.title or refusal.source
        for refusal in ruleset.refused
        if name in refusal.placeholders
    )

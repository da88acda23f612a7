"""The detection rules API, one router the registry mounts at ``/api/v1/`` (decision
0044): the installed packs and their rules, a tenant's choices (packs and rules turned off
and on), and its custom rules (uploaded as YAML text or a file, edited, turned off and on,
deleted). Thin handlers: the tenant or rule through the queries (404 out of reach), one
service."""

from ninja import File, Query, Router
from ninja.files import UploadedFile
from ninja.pagination import paginate

from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest
from tandem.detection import queries, services
from tandem.detection.permissions import CHANGE_RULES, VIEW_RULES
from tandem.detection.schemas import (
    CustomRuleDetailOut,
    CustomRuleEditIn,
    CustomRuleOut,
    CustomRuleQuery,
    CustomRuleUploadIn,
    DisabledRuleOut,
    PackDetailOut,
    PackOut,
    PackRuleOut,
    PackRuleQuery,
    PackSettingIn,
    ReasonIn,
    RuleStateIn,
    TenantRulesOut,
)

router = Router(tags=["detection"])


@router.get("/rule-packs", response=list[PackOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_RULES)
def list_packs(request: TandemRequest):  # type: ignore[no-untyped-def]
    """The installed packs (their current versions): rules loaded and refused."""
    return queries.current_packs()


@router.get("/rule-packs/{pack_id}", response=PackDetailOut)
@declare_action(VIEW_RULES)
def get_pack(request: TandemRequest, pack_id: Id):  # type: ignore[no-untyped-def]
    """One pack version with every rule it could not load and why."""
    pack = queries.installed_pack(pack_id)
    return pack


@router.get("/rule-packs/{pack_id}/rules", response=list[PackRuleOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_RULES)
def list_pack_rules(request: TandemRequest, pack_id: Id, filters: Query[PackRuleQuery]):  # type: ignore[no-untyped-def]
    """The rules of one pack version by title; ``search`` in the title or id."""
    return queries.pack_rules(queries.installed_pack(pack_id), filters.search.strip())


@router.get("/tenants/{tenant_id}/detection-rules", response=TenantRulesOut)
@declare_action(VIEW_RULES)
def get_tenant_rules(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's packs (on or off, with the reason) and how many rules it turned off."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id)
    return {
        "tenant_id": tenant.pk,
        "packs": queries.tenant_packs(principal, tenant.pk),
        "custom_rule_count": queries.custom_rules(principal, tenant.pk).count(),
    }


@router.put("/tenants/{tenant_id}/rule-packs/{pack_id}", response=TenantRulesOut)
@declare_action(CHANGE_RULES)
def put_pack_setting(request: TandemRequest, tenant_id: Id, pack_id: Id, payload: PackSettingIn):  # type: ignore[no-untyped-def]
    """Turn an installed pack off for the tenant (reason required) or back on."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    pack = queries.installed_pack(pack_id)
    services.set_pack_enabled(
        actor=principal,
        tenant=tenant,
        pack_name=pack.name,
        enabled=payload.enabled,
        reason=payload.reason,
    )
    return get_tenant_rules(request, tenant_id)


@router.get("/tenants/{tenant_id}/disabled-rules", response=list[DisabledRuleOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_RULES)
def list_disabled_rules(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The built-in rules the tenant turned off, with who and why."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id)
    return queries.disabled_rules(principal, tenant.pk)


@router.post("/tenants/{tenant_id}/rules/disable", response={201: DisabledRuleOut})
@declare_action(CHANGE_RULES)
def disable_rule(request: TandemRequest, tenant_id: Id, payload: RuleStateIn):  # type: ignore[no-untyped-def]
    """Turn one built-in rule off for the tenant (reason required)."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    return 201, services.disable_rule(
        actor=principal, tenant=tenant, rule_id=payload.rule_id, reason=payload.reason
    )


@router.post("/tenants/{tenant_id}/rules/enable", response={204: None})
@declare_action(CHANGE_RULES)
def enable_rule(request: TandemRequest, tenant_id: Id, payload: RuleStateIn):  # type: ignore[no-untyped-def]
    """Turn a built-in rule the tenant turned off back on (409 when it is on)."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    services.enable_rule(
        actor=principal, tenant=tenant, rule_id=payload.rule_id, reason=payload.reason
    )
    return 204, None


@router.get("/custom-rules", response=list[CustomRuleOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_RULES)
def list_custom_rules(request: TandemRequest, filters: Query[CustomRuleQuery]):  # type: ignore[no-untyped-def]
    """The custom rules the caller sees (a provider: its clients' that it monitors)."""
    return queries.custom_rules(request.principal, filters.tenant_id)


@router.get("/custom-rules/{custom_rule_id}", response=CustomRuleDetailOut)
@declare_action(VIEW_RULES)
def get_custom_rule(request: TandemRequest, custom_rule_id: Id):  # type: ignore[no-untyped-def]
    """One custom rule with its YAML."""
    return queries.custom_rule(request.principal, custom_rule_id)


@router.post("/tenants/{tenant_id}/custom-rules", response={201: list[CustomRuleOut]})
@declare_action(CHANGE_RULES)
def add_custom_rules(request: TandemRequest, tenant_id: Id, payload: CustomRuleUploadIn):  # type: ignore[no-untyped-def]
    """Add (or replace, by id) custom rules given as Sigma YAML text; a malformed or
    unevaluable rule refuses the whole upload with the reason per file (422)."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    return 201, services.upload_custom_rules(
        actor=principal, tenant=tenant, files={payload.file_name: payload.source.encode()}
    )


@router.post("/tenants/{tenant_id}/custom-rules/upload", response={201: list[CustomRuleOut]})
@declare_action(CHANGE_RULES)
def upload_custom_rules(request: TandemRequest, tenant_id: Id, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    """The same from a file (multipart): a Sigma YAML file or a zip of them."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    data = file.read(services.MAX_UPLOAD_BYTES + 1)
    return 201, services.upload_custom_rules(
        actor=principal, tenant=tenant, files={(file.name or "upload")[:200]: data}
    )


@router.put("/custom-rules/{custom_rule_id}", response=CustomRuleDetailOut)
@declare_action(CHANGE_RULES)
def edit_custom_rule(request: TandemRequest, custom_rule_id: Id, payload: CustomRuleEditIn):  # type: ignore[no-untyped-def]
    """Replace the rule's YAML (checked like an upload; same id); its version goes up."""
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    return services.edit_custom_rule(actor=principal, rule=rule, source=payload.source)


@router.post("/custom-rules/{custom_rule_id}/disable", response=CustomRuleOut)
@declare_action(CHANGE_RULES)
def disable_custom_rule(request: TandemRequest, custom_rule_id: Id, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """Turn the rule off (reason required)."""
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    return services.set_custom_rule_enabled(
        actor=principal, rule=rule, enabled=False, reason=payload.reason
    )


@router.post("/custom-rules/{custom_rule_id}/enable", response=CustomRuleOut)
@declare_action(CHANGE_RULES)
def enable_custom_rule(request: TandemRequest, custom_rule_id: Id, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """Turn the rule back on."""
    principal = request.principal
    rule = queries.custom_rule(principal, custom_rule_id)
    return services.set_custom_rule_enabled(
        actor=principal, rule=rule, enabled=True, reason=payload.reason
    )


@router.delete("/custom-rules/{custom_rule_id}", response={204: None})
@declare_action(CHANGE_RULES)
def delete_custom_rule(request: TandemRequest, custom_rule_id: Id):  # type: ignore[no-untyped-def]
    """Delete the rule (the audit log keeps its last YAML)."""
    principal = request.principal
    services.delete_custom_rule(
        actor=principal, rule=queries.custom_rule(principal, custom_rule_id)
    )
    return 204, None

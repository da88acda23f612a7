"""The detection rules API, one router the registry mounts at ``/api/v1/`` (decision
0044): the installed packs and their rules, a tenant's choices (packs and rules turned off
and on), its custom rules (uploaded as YAML text or a file, edited, turned off and on,
deleted) and its placeholder lists (decision 0051). Thin handlers: the tenant or rule
through the queries (404 out of reach), one service."""

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
    PlaceholderListIn,
    PlaceholderListOut,
    PlaceholderListQuery,
    PlaceholderValuesIn,
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
    """The tenant's packs (on or off, with the reason), how many rules it turned off, and
    the installed rules that expand placeholders (which run here, which wait for values)."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id)
    names = set(queries.placeholder_lists(principal, tenant.pk).values_list("name", flat=True))
    return {
        "tenant_id": tenant.pk,
        "packs": queries.tenant_packs(principal, tenant.pk),
        "custom_rule_count": queries.custom_rules(principal, tenant.pk).count(),
        "placeholder_rules": queries.waiting_rules(names),
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


@router.get("/placeholder-lists", response=list[PlaceholderListOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_RULES)
def list_placeholder_lists(request: TandemRequest, filters: Query[PlaceholderListQuery]):  # type: ignore[no-untyped-def]
    """The placeholder lists the caller sees (a provider: its monitored clients'), by name."""
    return queries.placeholder_lists(request.principal, filters.tenant_id)


@router.get("/placeholder-lists/{placeholder_list_id}", response=PlaceholderListOut)
@declare_action(VIEW_RULES)
def get_placeholder_list(request: TandemRequest, placeholder_list_id: Id):  # type: ignore[no-untyped-def]
    """One placeholder list with its values."""
    return queries.placeholder_list(request.principal, placeholder_list_id)


@router.post("/tenants/{tenant_id}/placeholder-lists", response={201: PlaceholderListOut})
@declare_action(CHANGE_RULES)
def add_placeholder_list(request: TandemRequest, tenant_id: Id, payload: PlaceholderListIn):  # type: ignore[no-untyped-def]
    """Give the placeholder ``%name%`` the tenant's values (409 when it has that list)."""
    principal = request.principal
    tenant = queries.rules_tenant(principal, tenant_id, CHANGE_RULES)
    return 201, services.create_placeholder_list(
        actor=principal,
        tenant=tenant,
        name=payload.name,
        values=payload.values,
        description=payload.description,
    )


@router.put("/placeholder-lists/{placeholder_list_id}", response=PlaceholderListOut)
@declare_action(CHANGE_RULES)
def edit_placeholder_list(  # type: ignore[no-untyped-def]
    request: TandemRequest, placeholder_list_id: Id, payload: PlaceholderValuesIn
):
    """Replace the list's values (and description when given); the name stays."""
    principal = request.principal
    return services.edit_placeholder_list(
        actor=principal,
        placeholder_list=queries.placeholder_list(principal, placeholder_list_id),
        values=payload.values,
        description=payload.description,
    )


@router.delete("/placeholder-lists/{placeholder_list_id}", response={204: None})
@declare_action(CHANGE_RULES)
def delete_placeholder_list(request: TandemRequest, placeholder_list_id: Id):  # type: ignore[no-untyped-def]
    """Delete the list (409 while an enabled custom rule expands it)."""
    principal = request.principal
    services.delete_placeholder_list(
        actor=principal,
        placeholder_list=queries.placeholder_list(principal, placeholder_list_id),
    )
    return 204, None

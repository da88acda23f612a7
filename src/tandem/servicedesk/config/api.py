"""The desk configuration API: calendars, SLA policies, categories, priority matrix,
statuses, thresholds, mail senders and canned replies."""

from typing import Any

from ninja import Router
from ninja.pagination import paginate

from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.servicedesk.config import queries, services
from tandem.servicedesk.config import sla_services as sla
from tandem.servicedesk.config.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    DeskThresholdsIn,
    DeskThresholdsOut,
    MailSendersIn,
    MailSendersOut,
    PriorityMatrixIn,
    PriorityMatrixOut,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaPolicyPatch,
    StatusesIn,
    StatusesOut,
)
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.sla.models import Calendar
from tandem.tenancy.models import Tenant

router = Router(tags=["desk configuration"])

# --- Calendars, SLA policies, coverage ------------------------------------------------------


def _tenant_with_matrix(principal: Principal, tenant_id: int) -> Tenant:
    """The tenant in the path if the caller sees it (else 404) and may read its matrix
    (else 403: seen, not readable)."""
    tenant = tenant_in_reach(principal, tenant_id)
    policies.authorize(principal, "servicedesk.view_matrix", tenant)
    return tenant


@router.get("/tenants/{tenant_id}/calendars", response=list[CalendarOut])
@paginate(Pagination)
@declare_action("servicedesk.view_matrix")
def list_calendars(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    return Calendar.objects.filter(tenant=_tenant_with_matrix(request.principal, tenant_id))


@router.post("/calendars", response={201: CalendarOut})
@declare_action("servicedesk.change_matrix")
def create_calendar(request: TandemRequest, payload: CalendarIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    # The same full validation as the pages (errors name the zone, weekday or date).
    return 201, sla.add_calendar(actor=request.principal, tenant=tenant, **data)


@router.get("/tenants/{tenant_id}/sla-policies", response=list[SlaPolicyOut])
@paginate(Pagination)
@declare_action("servicedesk.view_matrix")
def list_sla_policies(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's IT sees every SLA and OLA; a provider only the terms of its own party
    (another provider's contract is none of its business)."""
    tenant = _tenant_with_matrix(request.principal, tenant_id)
    return queries.sla_policies(request.principal, tenant.pk)


@router.post("/sla-policies", response={201: SlaPolicyOut})
@declare_action("servicedesk.change_matrix")
def create_sla_policy(request: TandemRequest, payload: SlaPolicyIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    # Targets and pause statuses validated and normalised as the pages and edits do.
    return 201, sla.add_sla_policy(actor=request.principal, tenant=tenant, **data)


# --- Canned replies -----------------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/canned-replies", response=list[CannedReplyOut])
@paginate(Pagination)
@declare_action("servicedesk.view_cannedreply")
def list_canned_replies(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's canned replies and your own party's (another party's are never listed)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id)
    return queries.canned_replies(principal, tenant.pk)


@router.get("/canned-replies/{canned_reply_id}", response=CannedReplyOut)
@declare_action("servicedesk.view_cannedreply")
def get_canned_reply(request: TandemRequest, canned_reply_id: Id):  # type: ignore[no-untyped-def]
    return queries.canned_reply(request.principal, canned_reply_id, "servicedesk.view_cannedreply")


@router.post("/canned-replies", response={201: CannedReplyOut})
@declare_action("servicedesk.change_cannedreply")
def create_canned_reply(request: TandemRequest, payload: CannedReplyIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    return 201, services.create_canned_reply(
        actor=request.principal, tenant=tenant, **payload.model_dump(exclude={"tenant_id"})
    )


@router.patch("/canned-replies/{canned_reply_id}", response=CannedReplyOut)
@declare_action("servicedesk.change_cannedreply")
def update_canned_reply(request: TandemRequest, canned_reply_id: Id, payload: CannedReplyPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    reply = queries.canned_reply(principal, canned_reply_id, "servicedesk.change_cannedreply")
    return services.update_canned_reply(
        actor=principal, reply=reply, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/canned-replies/{canned_reply_id}", response={204: None})
@declare_action("servicedesk.change_cannedreply")
def delete_canned_reply(request: TandemRequest, canned_reply_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    reply = queries.canned_reply(principal, canned_reply_id, "servicedesk.change_cannedreply")
    services.delete_canned_reply(actor=principal, reply=reply)
    return 204, None


VIEW = "servicedesk.view_matrix"
CHANGE = "servicedesk.change_matrix"


# --- Calendars --------------------------------------------------------------------------------


@router.get("/calendars/{calendar_id}", response=CalendarOut)
@declare_action(VIEW)
def get_calendar(request: TandemRequest, calendar_id: Id):  # type: ignore[no-untyped-def]
    return queries.calendar_for(request.principal, calendar_id)


@router.patch("/calendars/{calendar_id}", response=CalendarOut)
@declare_action(CHANGE)
def update_calendar(request: TandemRequest, calendar_id: Id, payload: CalendarPatch):  # type: ignore[no-untyped-def]
    """Change a calendar; open tickets are recomputed when its hours change."""
    principal = request.principal
    calendar = queries.calendar_for(principal, calendar_id)
    return sla.update_calendar(
        actor=principal, calendar=calendar, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/calendars/{calendar_id}", response={204: None})
@declare_action(CHANGE)
def delete_calendar(request: TandemRequest, calendar_id: Id):  # type: ignore[no-untyped-def]
    """Delete a calendar; 409 naming the coverage entries and SLA policies that use it."""
    principal = request.principal
    sla.delete_calendar(actor=principal, calendar=queries.calendar_for(principal, calendar_id))
    return 204, None


# --- SLA policies -----------------------------------------------------------------------------


@router.get("/sla-policies/{sla_policy_id}", response=SlaPolicyOut)
@declare_action(VIEW)
def get_sla_policy(request: TandemRequest, sla_policy_id: Id):  # type: ignore[no-untyped-def]
    """One policy: the tenant's IT reads any, a provider only its own party's."""
    return queries.sla_policy_for(request.principal, sla_policy_id)


@router.patch("/sla-policies/{sla_policy_id}", response=SlaPolicyOut)
@declare_action(CHANGE)
def update_sla_policy(request: TandemRequest, sla_policy_id: Id, payload: SlaPolicyPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    policy = queries.sla_policy_for(principal, sla_policy_id)
    return sla.update_sla_policy(
        actor=principal, policy=policy, **payload.model_dump(exclude_unset=True)
    )


@router.post("/sla-policies/{sla_policy_id}/activate", response=SlaPolicyOut)
@declare_action(CHANGE)
def activate_sla_policy(request: TandemRequest, sla_policy_id: Id):  # type: ignore[no-untyped-def]
    """Put a policy in force; 409 while its party has another active one."""
    principal = request.principal
    policy = queries.sla_policy_for(principal, sla_policy_id)
    return sla.activate_sla_policy(actor=principal, policy=policy)


@router.post("/sla-policies/{sla_policy_id}/deactivate", response=SlaPolicyOut)
@declare_action(CHANGE)
def deactivate_sla_policy(request: TandemRequest, sla_policy_id: Id):  # type: ignore[no-untyped-def]
    """Retire a policy: it stays for the record, its party's open tickets lose its clock."""
    principal = request.principal
    policy = queries.sla_policy_for(principal, sla_policy_id)
    return sla.deactivate_sla_policy(actor=principal, policy=policy)


# --- Categories -------------------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/categories", response=list[CategoryOut])
@paginate(Pagination)
@declare_action(VIEW)
def list_categories(request: TandemRequest, tenant_id: Id, active: bool | None = None):  # type: ignore[no-untyped-def]
    """The tenant's categories (a provider: those of its service areas); ``active`` filters
    offered (true) or retired (false) ones."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    rows = queries.categories(principal, tenant.pk)
    return rows if active is None else rows.filter(is_active=active)


@router.get("/categories/{category_id}", response=CategoryOut)
@declare_action(VIEW)
def get_category(request: TandemRequest, category_id: Id):  # type: ignore[no-untyped-def]
    return queries.category_for(request.principal, category_id)


@router.post("/categories", response={201: CategoryOut})
@declare_action(CHANGE)
def create_category(request: TandemRequest, payload: CategoryIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_body(principal, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    return 201, services.add_category(actor=principal, tenant=tenant, **data)


@router.patch("/categories/{category_id}", response=CategoryOut)
@declare_action(CHANGE)
def update_category(request: TandemRequest, category_id: Id, payload: CategoryPatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    category = queries.category_for(principal, category_id)
    return services.update_category(
        actor=principal, category=category, **payload.model_dump(exclude_unset=True)
    )


@router.post("/categories/{category_id}/retire", response=CategoryOut)
@declare_action(CHANGE)
def retire_category(request: TandemRequest, category_id: Id):  # type: ignore[no-untyped-def]
    """Stop offering a category; its tickets keep it. 409 if it is retired already."""
    principal = request.principal
    category = queries.category_for(principal, category_id)
    return services.retire_category(actor=principal, category=category)


@router.post("/categories/{category_id}/reactivate", response=CategoryOut)
@declare_action(CHANGE)
def reactivate_category(request: TandemRequest, category_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    category = queries.category_for(principal, category_id)
    return services.reactivate_category(actor=principal, category=category)


# --- Desk settings ----------------------------------------------------------------------------


def _matrix_out(tenant_id: int) -> dict[str, Any]:
    return {"tenant_id": tenant_id, **desk_settings(tenant_id).priority_matrix}


@router.get("/tenants/{tenant_id}/priority-matrix", response=PriorityMatrixOut)
@declare_action(VIEW)
def get_priority_matrix(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """Impact x urgency -> priority; lists most severe first, one grid row per urgency."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW)
    return _matrix_out(tenant.pk)


@router.put("/tenants/{tenant_id}/priority-matrix", response=PriorityMatrixOut)
@declare_action(CHANGE)
def set_priority_matrix(request: TandemRequest, tenant_id: Id, payload: PriorityMatrixIn):  # type: ignore[no-untyped-def]
    """Replace the matrix (3 x 3 up to 9 x 9). Open tickets keep their priority; 409 when
    the new matrix could not hold their levels."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    services.set_priority_matrix(actor=principal, tenant=tenant, **payload.model_dump())
    return _matrix_out(tenant.pk)


def _statuses_out(tenant: Any) -> dict[str, Any]:
    used = queries.used_status_keys(tenant)
    return {
        "tenant_id": tenant.pk,
        "statuses": [
            {"key": key, "name": name, "kind": kind, "used": key in used}
            for key, name, kind in desk_settings(tenant.pk).statuses
        ],
    }


@router.get("/tenants/{tenant_id}/statuses", response=StatusesOut)
@declare_action(VIEW)
def get_statuses(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The status workflow in display order; ``used`` keys are permanent."""
    return _statuses_out(tenant_in_reach(request.principal, tenant_id, VIEW))


@router.put("/tenants/{tenant_id}/statuses", response=StatusesOut)
@declare_action(CHANGE)
def set_statuses(request: TandemRequest, tenant_id: Id, payload: StatusesIn):  # type: ignore[no-untyped-def]
    """Replace the workflow. Needs a first status of kind new and statuses of kind resolved
    and closed; 409 when it drops a status tickets hold, have held, or a policy pauses on."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    statuses = [s.model_dump() for s in payload.statuses]
    services.set_statuses(actor=principal, tenant=tenant, statuses=statuses)
    return _statuses_out(tenant)


def _thresholds_out(tenant_id: int) -> dict[str, Any]:
    settings = desk_settings(tenant_id)
    return {
        "tenant_id": tenant_id,
        "urgent_priority_max": settings.urgent_priority_max,
        "ping_pong_minutes": settings.ping_pong_minutes,
        "reopen_days": settings.reopen_days,
    }


@router.get("/tenants/{tenant_id}/desk-thresholds", response=DeskThresholdsOut)
@declare_action(VIEW)
def get_desk_thresholds(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    return _thresholds_out(tenant_in_reach(request.principal, tenant_id, VIEW).pk)


@router.put("/tenants/{tenant_id}/desk-thresholds", response=DeskThresholdsOut)
@declare_action(CHANGE)
def set_desk_thresholds(request: TandemRequest, tenant_id: Id, payload: DeskThresholdsIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    services.set_desk_thresholds(actor=principal, tenant=tenant, **payload.model_dump())
    return _thresholds_out(tenant.pk)


def _mail_senders_out(tenant_id: int) -> dict[str, Any]:
    settings = desk_settings(tenant_id)
    return {
        "tenant_id": tenant_id,
        "sender_policy": settings.mail_sender_policy,
        "mail_domains": list(settings.mail_domains),
    }


@router.get("/tenants/{tenant_id}/mail-senders", response=MailSendersOut)
@declare_action(VIEW)
def get_mail_senders(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """Who may open tickets by mail, and the tenant's mail domains."""
    return _mail_senders_out(tenant_in_reach(request.principal, tenant_id, VIEW).pk)


@router.put("/tenants/{tenant_id}/mail-senders", response=MailSendersOut)
@declare_action(CHANGE)
def set_mail_senders(request: TandemRequest, tenant_id: Id, payload: MailSendersIn):  # type: ignore[no-untyped-def]
    """Change who may open tickets by mail (audited). Mail from others waits on the mail
    review until an owner accepts the sender."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    services.set_mail_senders(
        actor=principal,
        tenant=tenant,
        sender_policy=payload.sender_policy,
        mail_domains=payload.mail_domains,
    )
    return _mail_senders_out(tenant.pk)

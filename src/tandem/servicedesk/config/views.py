"""The desk configuration pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import CONFLICT, INVALID, submit_form
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.responsibility import queries as matrix_queries
from tandem.servicedesk.choices import StatusKind
from tandem.servicedesk.config import queries, services
from tandem.servicedesk.config import sla_services as sla
from tandem.servicedesk.config.forms import (
    METRIC_LABELS,
    CalendarForm,
    CannedReplyForm,
    CategoryForm,
    DeskThresholdsForm,
    MailSendersForm,
    PriorityMatrixForm,
    SlaPolicyForm,
    StatusesForm,
    priority_range_choices,
)
from tandem.servicedesk.config.queries import CHANGE, VIEW
from tandem.servicedesk.config.sla_services import METRICS, WEEKDAY_NAMES, WEEKDAYS
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.sla.models import Calendar
from tandem.tenancy.models import Tenant

SECTION = "desk-config"
KIND_LABELS = {k.value: k.label for k in StatusKind}


def _url(name: str, *args: Any) -> str:
    return reverse(f"servicedesk_config:{name}", args=args)


def _form_page(
    request: HttpRequest,
    *,
    tenant: Tenant,
    form: Any,
    write: Callable[[dict[str, Any]], Any],
    done: str | Callable[[Any], str],
    message: Callable[[Any], str],
    template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """GET shows the form; a valid POST calls ``write`` (one service) and redirects with a
    message; a rejected one re-renders with the errors (422) or the conflict (409)."""
    saved, status = submit_form(request, form, write)
    if saved is not None:
        messages.success(request, message(saved))
        return redirect(done(saved) if callable(done) else done)
    return render(
        request,
        template,
        {"tenant": tenant, "form": form, "section": SECTION, **(context or {})},
        status=status,
    )


def _calendar_choices(tenant: Tenant) -> list[tuple[int, str]]:
    return list(Calendar.objects.filter(tenant=tenant).values_list("pk", "name"))


def _party_choices(principal: Principal, tenant: Tenant) -> list[tuple[int, str]]:
    return list(
        ticket_queries.parties(principal, tenant.pk).order_by("name").values_list("pk", "name")
    )


def _area_choices(principal: Principal, tenant: Tenant) -> list[tuple[int, str]]:
    areas = (
        matrix_queries.matrix_areas(principal, tenant.pk).filter(is_active=True).order_by("name")
    )
    return list(areas.values_list("pk", "name"))


def _hours(spans: list[list[str]]) -> str:
    return ", ".join(f"{a}–{b}" for a, b in spans) if spans else "closed"


# --- Overview ---------------------------------------------------------------------------------


@page(VIEW)
def desk_config(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The desk's configuration at a glance: priority matrix, workflow, thresholds, and
    where calendars, SLA policies, categories and coverage are kept."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    settings = desk_settings(tenant.pk)
    matrix = settings.priority_matrix
    used = queries.used_status_keys(tenant)
    return render(
        request,
        "servicedesk/config_home.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "may_change": policies.allowed(principal, CHANGE, tenant),
            "matrix": matrix,
            "grid_rows": list(zip(matrix["urgencies"], matrix["grid"], strict=False)),
            "statuses": [
                {"key": k, "name": n, "kind": KIND_LABELS.get(kind, kind), "used": k in used}
                for k, n, kind in settings.statuses
            ],
            "urgent": dict(priority_range_choices(len(matrix["priorities"]))).get(
                settings.urgent_priority_max, f"P1 to P{settings.urgent_priority_max}"
            ),
            "ping_pong_minutes": settings.ping_pong_minutes,
            "reopen_days": settings.reopen_days,
            "mail_sender_policy": settings.get_mail_sender_policy_display(),
            "mail_domains": settings.mail_domains,
            "counts": {
                "calendars": Calendar.objects.filter(tenant=tenant).count(),
                "policies": queries.sla_policies(principal, tenant.pk).count(),
                "categories": queries.categories(principal, tenant.pk).count(),
            },
        },
    )


# --- Calendars --------------------------------------------------------------------------------


@page(VIEW)
def calendars(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Every calendar with its hours and what uses it (a provider: the coverage it sees and
    its own SLA policy, never another party's terms)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    users: dict[int, list[str]] = defaultdict(list)
    for entry in matrix_queries.coverage(principal, tenant.pk):
        users[entry.calendar_id].append(f"coverage of {entry.party.name}")
    for policy in queries.sla_policies(principal, tenant.pk):
        users[policy.calendar_id].append(f"SLA policy “{policy.name}”")
    rows = []
    for calendar in Calendar.objects.filter(tenant=tenant):
        rows.append(
            {
                "calendar": calendar,
                "days": [
                    (WEEKDAY_NAMES[int(day)], _hours(calendar.weekly.get(day, [])))
                    for day in WEEKDAYS
                ],
                "users": users.get(calendar.pk, []),
            }
        )
    return render(
        request,
        "servicedesk/config_calendar_list.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "rows": rows,
            "may_change": policies.allowed(principal, CHANGE, tenant),
        },
    )


def _slots(request: HttpRequest, default: int) -> int:
    """As many interval inputs per day as the form that was posted had (3 to 12)."""
    try:
        posted = int(request.POST.get("slots", default))
    except ValueError:
        posted = default
    return min(max(posted, 3), 12)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def calendar_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    form = CalendarForm(
        request.POST or None,
        slots=_slots(request, 3),
        initial={"time_zone": tenant.time_zone},
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: sla.add_calendar(actor=principal, tenant=tenant, **form.arguments()),
        done=_url("calendars", tenant.pk),
        message=lambda calendar: f"Calendar “{calendar.name}” is saved.",
        template="servicedesk/config_calendar_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def calendar_edit(request: TandemRequest, tenant_id: int, calendar_id: int) -> HttpResponse:
    """Change a calendar's hours and holidays; open tickets' due dates follow."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    calendar = queries.calendar_for(principal, calendar_id, tenant.pk)
    form = CalendarForm(
        request.POST or None,
        slots=_slots(request, CalendarForm.slots_for(calendar)),
        initial=CalendarForm.initial_for(calendar),
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: sla.update_calendar(
            actor=principal, calendar=calendar, **form.arguments()
        ),
        done=_url("calendars", tenant.pk),
        message=lambda saved: f"Calendar “{saved.name}” is saved.",
        template="servicedesk/config_calendar_form.html",
        context={"calendar": calendar},
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def calendar_delete(request: TandemRequest, tenant_id: int, calendar_id: int) -> HttpResponse:
    """Ask before deleting; a calendar in use cannot go, and the page says what uses it."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    calendar = queries.calendar_for(principal, calendar_id, tenant.pk)
    status, error = 200, ""
    if request.method == "POST":
        try:
            sla.delete_calendar(actor=principal, calendar=calendar)
        except Conflict as exc:
            status, error = CONFLICT, str(exc)
        else:
            messages.success(request, f"Calendar “{calendar.name}” is deleted.")
            return redirect(_url("calendars", tenant.pk))
    return render(
        request,
        "servicedesk/config_calendar_delete.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "calendar": calendar,
            "users": sla.calendar_users(calendar),
            "error": error,
        },
        status=status,
    )


# --- SLA policies -----------------------------------------------------------------------------


@page(VIEW)
def sla_policies(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """SLAs and OLAs with their targets: all of them for the tenant's IT, a provider's own
    for the provider."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    settings = desk_settings(tenant.pk)
    labels = settings.priority_matrix["priorities"]
    names = {key: name for key, name, _kind in settings.statuses}
    rows = []
    for policy in queries.sla_policies(principal, tenant.pk).order_by("-is_active", "name"):
        rows.append(
            {
                "policy": policy,
                "targets": [
                    {
                        "priority": labels[int(p) - 1] if int(p) <= len(labels) else f"P{p}",
                        "cells": [policy.targets[p].get(m) for m in METRICS],
                    }
                    for p in sorted(policy.targets, key=int)
                ],
                "pauses": [
                    (METRIC_LABELS[m], ", ".join(names.get(k, k) for k in keys))
                    for m, keys in policy.pause_statuses.items()
                    if m in METRIC_LABELS
                ],
            }
        )
    return render(
        request,
        "servicedesk/config_sla_list.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "rows": rows,
            "metrics": [METRIC_LABELS[m] for m in METRICS],
            "may_change": policies.allowed(principal, CHANGE, tenant),
        },
    )


def _policy_form(principal: Principal, tenant: Tenant, data: Any, **kwargs: Any) -> SlaPolicyForm:
    settings = desk_settings(tenant.pk)
    return SlaPolicyForm(
        data,
        calendars=_calendar_choices(tenant),
        priorities=settings.priority_matrix["priorities"],
        statuses=settings.statuses,
        **kwargs,
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def sla_policy_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    form = _policy_form(
        principal, tenant, request.POST or None, parties=_party_choices(principal, tenant)
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: sla.add_sla_policy(actor=principal, tenant=tenant, **form.arguments()),
        done=_url("sla-policies", tenant.pk),
        message=lambda policy: f"SLA policy “{policy.name}” is in force.",
        template="servicedesk/config_sla_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def sla_policy_edit(request: TandemRequest, tenant_id: int, sla_policy_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    policy = queries.sla_policy_for(principal, sla_policy_id, tenant.pk)
    form = _policy_form(
        principal,
        tenant,
        request.POST or None,
        parties=None,
        initial=SlaPolicyForm.initial_for(policy),
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: sla.update_sla_policy(
            actor=principal, policy=policy, **form.arguments()
        ),
        done=_url("sla-policies", tenant.pk),
        message=lambda saved: f"SLA policy “{saved.name}” is saved.",
        template="servicedesk/config_sla_form.html",
        context={"policy": policy},
    )


def _flip(
    request: TandemRequest,
    tenant_id: int,
    object_id: int,
    *,
    find: Callable[[Principal, int, int], Any],
    write: Callable[[Principal, Any], Any],
    done: str,
    said: str,
) -> HttpResponse:
    """A POST-only switch (activate, retire, ...): do it, say so, go back to the list."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    target = find(principal, object_id, tenant.pk)
    try:
        write(principal, target)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, said.format(name=target.name))
    return redirect(_url(done, tenant.pk))


@page(CHANGE)
@require_POST
def sla_policy_activate(request: TandemRequest, tenant_id: int, sla_policy_id: int) -> HttpResponse:
    return _flip(
        request,
        tenant_id,
        sla_policy_id,
        find=queries.sla_policy_for,
        write=lambda actor, policy: sla.activate_sla_policy(actor=actor, policy=policy),
        done="sla-policies",
        said="SLA policy “{name}” is in force again.",
    )


@page(CHANGE)
@require_POST
def sla_policy_deactivate(
    request: TandemRequest, tenant_id: int, sla_policy_id: int
) -> HttpResponse:
    return _flip(
        request,
        tenant_id,
        sla_policy_id,
        find=queries.sla_policy_for,
        write=lambda actor, policy: sla.deactivate_sla_policy(actor=actor, policy=policy),
        done="sla-policies",
        said="SLA policy “{name}” is retired; its terms stay on record.",
    )


# --- Categories -------------------------------------------------------------------------------


@page(VIEW)
def categories(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """What requesters choose from, with the service area each routes to and its questions."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, VIEW)
    rows = queries.categories(principal, tenant.pk).order_by("-is_active", "name")
    return render(
        request,
        "servicedesk/config_category_list.html",
        {
            "tenant": tenant,
            "section": SECTION,
            "rows": list(rows),
            "may_change": policies.allowed(principal, CHANGE, tenant),
        },
    )


def _rows(request: HttpRequest, default: int) -> int:
    try:
        posted = int(request.POST.get("rows", default))
    except ValueError:
        posted = default
    return min(max(posted, 2), services.MAX_QUESTIONS + 2)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def category_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    form = CategoryForm(
        request.POST or None,
        areas=_area_choices(principal, tenant),
        rows=_rows(request, CategoryForm.rows_for()),
        initial={"q0_required": True, "q1_required": True},
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.add_category(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=_url("categories", tenant.pk),
        message=lambda category: f"Category “{category.name}” is offered in the portal.",
        template="servicedesk/config_category_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def category_edit(request: TandemRequest, tenant_id: int, category_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    category = queries.category_for(principal, category_id, tenant.pk)
    form = CategoryForm(
        request.POST or None,
        areas=_area_choices(principal, tenant),
        rows=_rows(request, CategoryForm.rows_for(category)),
        initial=CategoryForm.initial_for(category),
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_category(
            actor=principal, category=category, **form.arguments()
        ),
        done=_url("categories", tenant.pk),
        message=lambda saved: f"Category “{saved.name}” is saved.",
        template="servicedesk/config_category_form.html",
        context={"category": category},
    )


@page(CHANGE)
@require_POST
def category_retire(request: TandemRequest, tenant_id: int, category_id: int) -> HttpResponse:
    return _flip(
        request,
        tenant_id,
        category_id,
        find=queries.category_for,
        write=lambda actor, category: services.retire_category(actor=actor, category=category),
        done="categories",
        said="Category “{name}” is retired: requesters no longer see it.",
    )


@page(CHANGE)
@require_POST
def category_reactivate(request: TandemRequest, tenant_id: int, category_id: int) -> HttpResponse:
    return _flip(
        request,
        tenant_id,
        category_id,
        find=queries.category_for,
        write=lambda actor, category: services.reactivate_category(actor=actor, category=category),
        done="categories",
        said="Category “{name}” is offered again.",
    )


# --- Priority matrix, status workflow, thresholds ---------------------------------------------


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def priority_matrix_edit(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Edit the labels and the grid. “Update the grid” redraws the grid in the shape of the
    posted labels (keeping the cells that still exist) without saving anything."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    current = desk_settings(tenant.pk).priority_matrix
    posted = request.POST if request.method == "POST" else None
    labels = PriorityMatrixForm.labels_from(posted, current)
    grid = current["grid"]
    redraw = False
    if posted is not None:
        # A renamed priority keeps its place: cells follow it by position.
        renamed = dict(zip(current["priorities"], labels["priorities"], strict=False))
        grid = []
        for u in range(len(labels["urgencies"])):
            row = []
            for i in range(len(labels["impacts"])):
                value = posted.get(f"cell_{u}_{i}")
                if value not in labels["priorities"]:
                    redraw = True  # a new cell, or one whose priority is gone
                    value = renamed.get(value or "", "")
                row.append(value or "")
            grid.append(row)
    text = {key: "\n".join(values) for key, values in labels.items()}
    if posted is not None and (redraw or posted.get("action") == "redraw"):
        form = PriorityMatrixForm(initial=text, grid=grid, **labels)
        asked = posted.get("action") == "redraw"
        return render(
            request,
            "servicedesk/config_priority_matrix_form.html",
            {
                "tenant": tenant,
                "form": form,
                "section": SECTION,
                "redrawn": not asked,
            },
            status=200 if asked else INVALID,
        )
    form = PriorityMatrixForm(posted, initial=text, grid=grid, **labels)
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.set_priority_matrix(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=_url("desk-config", tenant.pk),
        message=lambda saved: "The priority matrix is saved. New and reprioritised tickets use it.",
        template="servicedesk/config_priority_matrix_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def statuses_edit(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Rename, reorder, add and remove statuses; used keys are permanent."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    form = StatusesForm(
        request.POST or None,
        statuses=desk_settings(tenant.pk).statuses,
        used=queries.used_status_keys(tenant),
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.set_statuses(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=_url("desk-config", tenant.pk),
        message=lambda saved: "The status workflow is saved.",
        template="servicedesk/config_statuses_form.html",
        context={"kinds": KIND_LABELS},
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def desk_thresholds_edit(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    settings = desk_settings(tenant.pk)
    form = DeskThresholdsForm(
        request.POST or None,
        priorities=len(settings.priority_matrix["priorities"]),
        initial={
            "urgent_priority_max": settings.urgent_priority_max,
            "ping_pong_minutes": settings.ping_pong_minutes,
            "reopen_days": settings.reopen_days,
        },
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.set_desk_thresholds(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=_url("desk-config", tenant.pk),
        message=lambda saved: "The desk thresholds are saved.",
        template="servicedesk/config_thresholds_form.html",
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def mail_senders_edit(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Who may open tickets by mail, and the tenant's mail domains."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, CHANGE)
    settings = desk_settings(tenant.pk)
    form = MailSendersForm(
        request.POST or None,
        initial={
            "sender_policy": settings.mail_sender_policy,
            "mail_domains": "\n".join(settings.mail_domains),
        },
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.set_mail_senders(
            actor=principal, tenant=tenant, **form.arguments()
        ),
        done=_url("desk-config", tenant.pk),
        message=lambda saved: "Who may open tickets by mail is saved.",
        template="servicedesk/config_mail_senders_form.html",
    )


def _reply_tenant(principal: Principal, tenant_id: int, action: str) -> tuple[Tenant, bool]:
    """The tenant if the principal works there for a party holding ``action`` (else 404),
    and whether it may keep the tenant's own replies (the tenant's IT)."""
    tenant = tenant_in_reach(principal, tenant_id)
    accesses = [a for a in principal.accesses_with(action, tenant.pk) if a.party_id is not None]
    if not accesses:
        raise Http404("no such page")
    return tenant, any(a.provider_id is None for a in accesses)


def _reply_in(principal: Principal, tenant: Tenant, canned_reply_id: int) -> Any:
    reply = queries.canned_reply(principal, canned_reply_id, "servicedesk.change_cannedreply")
    if reply.tenant_id != tenant.pk:
        raise Http404("no such canned reply")
    return reply


@page("servicedesk.view_cannedreply")
def canned_replies(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's canned replies and the person's own party's, to pick on a ticket."""
    principal = request.principal
    tenant, _internal = _reply_tenant(principal, tenant_id, "servicedesk.view_cannedreply")
    replies = list(queries.canned_replies(principal, tenant.pk))
    changeable = set(
        policies.visible(
            principal,
            "servicedesk.change_cannedreply",
            queries.canned_replies(principal, tenant.pk),
        ).values_list("pk", flat=True)
    )
    return render(
        request,
        "servicedesk/config_canned_replies.html",
        {
            "tenant": tenant,
            "replies": replies,
            "changeable": changeable,
            "may_add": bool(
                [
                    a
                    for a in principal.accesses_with("servicedesk.change_cannedreply", tenant.pk)
                    if a.party_id
                ]
            ),
            "section": SECTION,
        },
    )


@page("servicedesk.change_cannedreply")
@require_http_methods(["GET", "POST"])
def canned_reply_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    principal = request.principal
    tenant, internal = _reply_tenant(principal, tenant_id, "servicedesk.change_cannedreply")
    form = CannedReplyForm(request.POST or None, may_share=internal)
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.create_canned_reply(
            actor=principal,
            tenant=tenant,
            name=data["name"],
            body=data["body"],
            shared=bool(data.get("shared")),
        ),
        done=_url("canned-replies", tenant.pk),
        message=lambda reply: f"The canned reply “{reply.name}” is kept.",
        template="servicedesk/config_canned_reply_form.html",
        context={"title": "New canned reply"},
    )


@page("servicedesk.change_cannedreply")
@require_http_methods(["GET", "POST"])
def canned_reply_edit(request: TandemRequest, tenant_id: int, canned_reply_id: int) -> HttpResponse:
    principal = request.principal
    tenant, _internal = _reply_tenant(principal, tenant_id, "servicedesk.change_cannedreply")
    reply = _reply_in(principal, tenant, canned_reply_id)
    form = CannedReplyForm(
        request.POST or None, may_share=False, initial={"name": reply.name, "body": reply.body}
    )
    return _form_page(
        request,
        tenant=tenant,
        form=form,
        write=lambda data: services.update_canned_reply(
            actor=principal, reply=reply, name=data["name"], body=data["body"]
        ),
        done=_url("canned-replies", tenant.pk),
        message=lambda saved: f"The canned reply “{saved.name}” is saved.",
        template="servicedesk/config_canned_reply_form.html",
        context={"title": f"Edit “{reply.name}”", "reply": reply},
    )


@page("servicedesk.change_cannedreply")
@require_POST
def canned_reply_delete(
    request: TandemRequest, tenant_id: int, canned_reply_id: int
) -> HttpResponse:
    principal = request.principal
    tenant, _internal = _reply_tenant(principal, tenant_id, "servicedesk.change_cannedreply")
    reply = _reply_in(principal, tenant, canned_reply_id)
    name = reply.name
    services.delete_canned_reply(actor=principal, reply=reply)
    messages.success(request, f"The canned reply “{name}” is removed.")
    return redirect(_url("canned-replies", tenant.pk))

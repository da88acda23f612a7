"""Service-desk pages: a tenant's queue, a person's cross-tenant queue, a new ticket, the
ticket page with its forms (notes, status, priority, handoff, assignment, time; merge,
parent, tags and watching in ``views_extras``), and the responsibility matrix with what it
leaves uncovered.

Handlers are thin: look the ticket or tenant up through the queries (out of reach is 404),
check the object-level action (403), parse the form, call one service, then redirect, or
re-render with the service's field errors (422) or its conflict (409).

People who are only requesters in a tenant get simplified pages: public notes only, "IT"
instead of party names, and no routing reason, SLA clocks, history, handoffs or time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.models import User
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict
from tandem.core.pages import submit_form
from tandem.core.policies import SIGNED_IN
from tandem.core.principal import Principal
from tandem.servicedesk import policies as policies_desk
from tandem.servicedesk import queries, services, views_queues
from tandem.servicedesk.choices import EventKind, StatusKind, Via, Visibility
from tandem.servicedesk.forms import (
    AssignForm,
    HandoffForm,
    MatrixRowForm,
    MergeForm,
    NoteForm,
    ParentForm,
    PortalCloseForm,
    PortalReplyForm,
    PortalTicketForm,
    PriorityForm,
    RatingForm,
    ReplyForm,
    StatusForm,
    TagsForm,
    TicketCreateForm,
    TicketLogForm,
    TimeForm,
    WatchForm,
    portal_questions,
)
from tandem.servicedesk.models import (
    Category,
    Comment,
    DeskSettings,
    ResponsibilityRow,
    Ticket,
)
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import AssetGroup, Site, Tenant

PAGE_SIZE = 50

SLA_TONES = {"running": "info", "paused": "muted", "met": "ok", "breached": "danger"}
TIER_TONES: dict[str, str] = {
    Visibility.PRIVATE: "warn",
    Visibility.SHARED: "info",
    Visibility.PUBLIC: "ok",
}
METRICS = {
    "first_response": "First response",
    "next_update": "Next update",
    "resolution": "Resolution",
}
FINDING_KINDS = {
    "no_responsible": "Gap",
    "overlap": "Overlap",
    "uncovered": "Uncovered hours",
    "no_coverage": "No service hours",
    "not_engaged": "Not engaged",
}


def _principal(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined,no-any-return]


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    return user


def _tenant_for(principal: Principal, tenant_id: int, action: str) -> Tenant:
    """The tenant, if the principal may see it and may ``action`` in it; else not found."""
    tenant = tenancy_queries.tenant(principal, tenant_id)
    if not policies.allowed(principal, action, tenant):
        raise Http404("no such page")
    return tenant


def _ticket_for(principal: Principal, ticket_id: int, action: str) -> Ticket:
    """The ticket if the principal sees it (else 404) and may ``action`` on it (else 403)."""
    ticket = queries.ticket(principal, ticket_id)
    if not policies.allowed(principal, action, ticket):
        raise PermissionDenied(f"not allowed: {action}")
    return ticket


def _parse_moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _duration(seconds: Any) -> str:
    """Business time as hours and minutes ("26h 30m"): days would suggest calendar days."""
    hours, minutes = divmod(int(seconds or 0) // 60, 60)
    if hours and minutes:
        return f"{hours}h {minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


# --- Queues ------------------------------------------------------------------------------------


@page("servicedesk.view_ticket")
def tickets(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """The tenant's queue: every ticket of the tenant the principal may see, with the
    filters, saved views and export of the cross-tenant queue (``views_queues``: the same
    form and ``queries.queue``), narrowed to this tenant."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.view_ticket")
    settings = desk_settings(tenant.pk)
    it_view = queries.is_it_in(principal, tenant.pk)
    # The tenant is the page's own: a ``tenant`` parameter (from a saved view) is not a filter.
    params = {k: v for k, v in views_queues.queue_params(request).items() if k != "tenant"}
    form = views_queues.QueueForm(
        params or None,
        principal=principal,
        tenant=tenant,
        priorities=settings.priority_matrix["priorities"],
    )
    rows = queries.queue(principal, {**views_queues.queue_filters(form), "tenant_id": tenant.pk})
    with_tenant = urlencode({**params, "tenant": str(tenant.pk)})
    return views_queues.queue_response(
        request,
        rows,
        params=params,
        sortable=[*views_queues.QUEUE_COLUMNS, *(views_queues.IT_COLUMNS if it_view else ())],
        labels={tenant.pk: views_queues.status_labels(settings.statuses)},
        it_tenants={tenant.pk} if it_view else set(),
        template="servicedesk/ticket_list.html",
        context={
            "tenant": tenant,
            "form": form,
            "it_view": it_view,
            "results_url": reverse("servicedesk:tickets", args=[tenant.pk]),
            "may_add": policies.allowed(principal, "servicedesk.add_ticket", tenant),
            "may_log": bool(policies_desk.may_log_for_callers(principal, tenant.pk)),
            # The person's saved views of every tenant or of this one; a view saved here
            # remembers the tenant, so it opens the same tickets on the cross-tenant queue.
            "saved_views": [
                view
                for view in queries.saved_views(principal)
                if view.filters.get("tenant_id") in (None, tenant.pk)
            ],
            "saved_query": with_tenant,
            "export_url": reverse("servicedesk_queues:queue-export") + "?" + with_tenant,
            "section": "tickets",
        },
    )


@page("servicedesk.view_ticket")
def my_queue(request: HttpRequest) -> HttpResponse:
    """The old address of the cross-tenant queue: now the one queue (``/queue/``), with
    the filters of the old page carried over where the queue has them."""
    carried = {
        "q": request.GET.get("q", ""),
        "scope": "mine"
        if request.GET.get("mine")
        else ("my_parties" if request.GET.get("my_parties") else ""),
        "status": queries.OPEN_STATUSES if request.GET.get("open_only") else "",
        "sort": request.GET.get("sort", ""),
    }
    query = urlencode({k: v for k, v in carried.items() if v})
    return redirect(reverse("servicedesk_queues:queue") + (f"?{query}" if query else ""))


# --- A new ticket ------------------------------------------------------------------------------


@page("servicedesk.add_ticket")
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Open a ticket; the responsibility matrix decides who gets it."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.add_ticket")
    matrix = desk_settings(tenant.pk).priority_matrix
    form = TicketCreateForm(
        request.POST or None,
        categories=Category.objects.filter(tenant_id=tenant.pk, is_active=True),
        sites=policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
    )
    ticket, status = submit_form(
        request,
        form,
        lambda data: services.create_ticket(
            actor=principal, tenant=tenant, requester=_user(request), **form.arguments()
        ),
    )
    if ticket is not None:
        if queries.is_it_in(principal, tenant.pk):
            messages.success(
                request,
                f"Ticket #{ticket.number} is open and went to {ticket.party.name}: "
                f"{ticket.routing_reason}",
            )
        else:
            messages.success(
                request, f"Ticket #{ticket.number} is open. IT will answer you on this page."
            )
        if policies.allowed(principal, "servicedesk.view_ticket", ticket):
            return redirect("servicedesk:ticket", ticket.pk)
        return redirect("servicedesk:tickets", tenant.pk)  # e.g. outside a provider's scope
    return render(
        request,
        "servicedesk/ticket_create.html",
        {"tenant": tenant, "form": form, "section": "tickets"},
        status=status,
    )


@page("servicedesk.log_ticket")
@require_http_methods(["GET", "POST"])
def ticket_log(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """A technician logs a ticket for a caller: finds or adds the requester, records how
    they called, and may choose who takes the ticket. The caller search works without
    script (the "Find" button sends the form back with GET, keeping what was typed) and
    with htmx (typing refreshes the list of people in place)."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.log_ticket")
    accesses = policies_desk.may_log_for_callers(principal, tenant.pk)
    if not accesses:
        raise Http404("no such page")
    internal = any(a.provider_id is None for a in accesses)
    data = request.POST if request.method == "POST" else None
    given = request.POST if data is not None else request.GET
    chosen = given.get("requester_id", "")
    matrix = desk_settings(tenant.pk).priority_matrix
    areas = queries.matrix_areas(principal, tenant.pk).values("pk")
    parties, people = queries.ticket_takers(principal, tenant.pk, own_only=not internal)
    form = TicketLogForm(
        data,
        initial=None if data is not None else _log_initial(request, matrix),
        callers=queries.callers(
            tenant.pk,
            given.get("caller_q", ""),
            include=int(chosen) if chosen.isdigit() else None,
        ),
        categories=Category.objects.filter(
            tenant_id=tenant.pk, is_active=True, service_area__in=areas
        ),
        sites=policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
        parties=parties,
        people=people,
    )
    htmx = request.htmx  # type: ignore[attr-defined]
    if data is None and htmx and htmx.target == "caller-choices":
        return render(request, "servicedesk/_caller_choices.html", {"form": form})
    ticket, status = submit_form(
        request,
        form,
        lambda cleaned: services.log_ticket_for_caller(
            actor=principal, tenant=tenant, **form.arguments()
        ),
    )
    if ticket is not None:
        caller = ticket.requester.full_name or ticket.requester.email
        messages.success(
            request,
            f"Ticket #{ticket.number} is logged for {caller} "
            f"({ticket.get_source_display()}) and went to {ticket.party.name}: "
            f"{ticket.routing_reason}",
        )
        if policies.allowed(principal, "servicedesk.view_ticket", ticket):
            return redirect("servicedesk:ticket", ticket.pk)
        return redirect("servicedesk:tickets", tenant.pk)
    return render(
        request,
        "servicedesk/ticket_log.html",
        {"tenant": tenant, "form": form, "section": "tickets"},
        status=status,
    )


def _log_initial(request: HttpRequest, matrix: dict[str, Any]) -> dict[str, Any]:
    """What the caller search's GET carries back into the form (nothing is saved by it)."""
    initial: dict[str, Any] = {
        "impact": len(matrix["impacts"]),
        "urgency": len(matrix["urgencies"]),
    }
    initial.update({k: v for k, v in request.GET.items() if k in TicketLogForm.base_fields})
    return initial


# --- The ticket page ---------------------------------------------------------------------------


def _writing_party(principal: Principal, ticket: Ticket) -> int | None:
    """The party an IT note is written for: the holder when the author belongs to it."""
    own = {a.party_id for a in principal.accesses_in(ticket.tenant_id) if a.party_id}
    if not own:
        return None
    return ticket.party_id if ticket.party_id in own else min(own)


def _note_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    party_id = _writing_party(principal, ticket)
    if party_id is None:
        return ReplyForm(data)
    name = queries.party_names(ticket.tenant_id).get(party_id, "your party")
    return NoteForm(data, party_name=name)


def _status_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    statuses = desk_settings(ticket.tenant_id).statuses
    return StatusForm(data, statuses=statuses, initial={"status": ticket.status})


def _priority_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    matrix = desk_settings(ticket.tenant_id).priority_matrix
    return PriorityForm(
        data,
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
        initial={"impact": ticket.impact, "urgency": ticket.urgency},
    )


def _handoff_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return HandoffForm(data, parties=queries.handoff_targets(principal, ticket))


def _assign_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return AssignForm(
        data,
        people=queries.assignable_people(ticket),
        initial={"assignee_id": ticket.assignee_id},
    )


def _time_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    areas = queries.matrix_areas(principal, ticket.tenant_id).filter(is_active=True)
    return TimeForm(data, service_areas=areas)


def _merge_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return MergeForm(data)


def _parent_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    number = None
    if ticket.parent_id:
        # The current parent's number, only if the person sees that ticket.
        rows = queries.tickets(principal).filter(pk=ticket.parent_id)
        number = rows.values_list("number", flat=True).first()
    return ParentForm(data, initial={"parent": number})


def _tags_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return TagsForm(data, initial={"tags": ", ".join(ticket.tags or [])})


def _watch_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return WatchForm(data)


#: The forms of the ticket page: (context name, action, builder).
TICKET_FORMS: tuple[tuple[str, str, Callable[..., forms.Form]], ...] = (
    ("note_form", "servicedesk.comment_ticket", _note_form),
    ("status_form", "servicedesk.change_ticket", _status_form),
    ("priority_form", "servicedesk.change_ticket", _priority_form),
    ("handoff_form", "servicedesk.handoff_ticket", _handoff_form),
    ("assign_form", "servicedesk.change_ticket", _assign_form),
    ("time_form", "servicedesk.log_time_on_ticket", _time_form),
    ("merge_form", "servicedesk.change_ticket", _merge_form),
    ("parent_form", "servicedesk.change_ticket", _parent_form),
    ("tags_form", "servicedesk.change_ticket", _tags_form),
    # Watching is reading: whoever sees the ticket may follow it.
    ("watch_form", "servicedesk.view_ticket", _watch_form),
)


def _sla_blocks(ticket: Ticket, names: dict[int, str]) -> list[dict[str, Any]]:
    """Every party's clocks, the holder's first: per metric its state, due time, time used."""
    blocks = []
    parties = sorted(
        ticket.sla_state.items(),
        key=lambda item: (int(item[0]) != ticket.party_id, names.get(int(item[0]), "")),
    )
    for party_key, metrics in parties:
        rows = []
        for metric, label in METRICS.items():
            entry = metrics.get(metric)
            if not entry:
                continue
            target, elapsed = entry.get("target") or 0, entry.get("elapsed") or 0
            rows.append(
                {
                    "metric": label,
                    "state": entry.get("state", ""),
                    "tone": SLA_TONES.get(entry.get("state", ""), "muted"),
                    "due": _parse_moment(entry.get("due")),
                    "met": _parse_moment(entry.get("met")),
                    "used": f"{_duration(elapsed)} of {_duration(target)}" if target else "",
                }
            )
        blocks.append(
            {
                "party": names.get(int(party_key), "Another party"),
                "holder": int(party_key) == ticket.party_id,
                "metrics": rows,
            }
        )
    return blocks


def _it_ticket_context(principal: Principal, ticket: Ticket) -> dict[str, Any]:
    settings = desk_settings(ticket.tenant_id)
    labels = views_queues.status_labels(settings.statuses)
    names = queries.party_names(ticket.tenant_id)
    matrix = settings.priority_matrix
    notes = list(queries.comments(principal, ticket).select_related("party"))
    for note in notes:
        note.tier_tone = TIER_TONES.get(note.visibility, "muted")  # type: ignore[attr-defined]
        note.tier_label = (  # type: ignore[attr-defined]
            f"Private to {names.get(note.party_id or 0, 'a party')}"
            if note.visibility == Visibility.PRIVATE
            else Visibility(note.visibility).label
        )
    events = list(ticket.events.all())
    for event in events:
        kind = event.kind
        event.kind_label = EventKind(kind).label if kind in EventKind.values else kind  # type: ignore[attr-defined]
        event.party_name = names.get(event.party_id, "")  # type: ignore[attr-defined]
        event.status_name = labels.get(event.status, (event.status, ""))[0]  # type: ignore[attr-defined]
        event.note = event.detail.get("reason") or event.detail.get("routing") or ""  # type: ignore[attr-defined]
    entries = list(queries.time_entries(principal, ticket))
    return {
        "notes": notes,
        "events": events,
        "handoffs": list(ticket.handoffs.select_related("from_party", "to_party", "actor")),
        "time_entries": entries,
        "time_total": _duration(60 * sum(e.minutes for e in entries)),
        "sla_blocks": _sla_blocks(ticket, names),
        "impact_label": _level(matrix["impacts"], ticket.impact),
        "urgency_label": _level(matrix["urgencies"], ticket.urgency),
    }


def _level(labels: list[str], value: int) -> str:
    return str(labels[value - 1]).capitalize() if 0 < value <= len(labels) else str(value)


def _requester_ticket_context(principal: Principal, ticket: Ticket) -> dict[str, Any]:
    # Public notes only, whatever the tiers say; IT authors are "IT", never a party or a name.
    notes = list(queries.comments(principal, ticket).filter(visibility=Visibility.PUBLIC))
    for note in notes:
        note.author_display = queries.author_for_requester(note, principal.user_id)  # type: ignore[attr-defined]
    # Public files only, like the notes, whatever else the person's tiers would allow.
    files = list(
        queries.attachments(principal, ticket)
        .filter(visibility=Visibility.PUBLIC)
        .order_by("created_at", "pk")
    )
    for file in files:
        file.from_display = (  # type: ignore[attr-defined]
            "you" if file.uploaded_by_id == principal.user_id else "IT"
        )
    return {"notes": notes, "files": files}


def _render_ticket(
    request: HttpRequest,
    principal: Principal,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The ticket page; ``bound`` holds a rejected form to show again with its errors,
    ``extra`` more context (the merge's confirmation step)."""
    from tandem.servicedesk.views_extras import ticket_links_context  # it imports this module

    tenant = tenancy_queries.tenant(principal, ticket.tenant_id)
    it_view = queries.is_it_in(principal, ticket.tenant_id)
    settings: DeskSettings = desk_settings(ticket.tenant_id)
    name, tone = views_queues.status_labels(settings.statuses).get(
        ticket.status, (ticket.status, "muted")
    )
    context: dict[str, Any] = {
        "tenant": tenant,
        "ticket": ticket,
        "status_name": name,
        "status_tone": tone,
        "section": "tickets",
    }
    allowed: dict[str, bool] = {}
    for key, action, build in TICKET_FORMS:
        if action not in allowed:
            allowed[action] = policies.allowed(principal, action, ticket)
        if allowed[action] and (it_view or key == "note_form"):
            context[key] = (bound or {}).get(key) or build(principal, ticket)
    if it_view:
        context.update(_it_ticket_context(principal, ticket))
        if "note_form" in context:
            context["canned_replies"] = list(
                queries.canned_replies(principal, ticket.tenant_id).values_list("pk", "name")
            )
        context.update(
            ticket_links_context(
                principal, ticket, labels=views_queues.status_labels(settings.statuses)
            )
        )
        template = "servicedesk/ticket_detail.html"
    else:
        context.update(_requester_ticket_context(principal, ticket))
        template = "servicedesk/ticket_detail_requester.html"
    context.update(extra or {})
    return render(request, template, context, status=status)


@page("servicedesk.view_ticket")
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page. ``?canned=<id>`` puts one of the person's canned replies into the
    note form (the picker above it sends that GET; htmx swaps in just the form)."""
    principal = _principal(request)
    ticket = queries.ticket(principal, ticket_id)
    canned = request.GET.get("canned", "")
    bound: dict[str, forms.Form] = {}
    if canned.isdigit() and policies.allowed(principal, "servicedesk.comment_ticket", ticket):
        reply = queries.canned_replies(principal, ticket.tenant_id).filter(pk=int(canned)).first()
        if reply is None:
            raise Http404("no such canned reply")
        form = _note_form(principal, ticket)
        form.initial = {**form.initial, "body": reply.body}
        bound["note_form"] = form
    return _render_ticket(request, principal, ticket, bound=bound)


def _work_on_ticket(
    request: HttpRequest,
    ticket_id: int,
    *,
    form_name: str,
    write: Callable[[Principal, Ticket, Any], Any],
    done: Callable[[Any], str],
    anchor: str = "",
) -> HttpResponse:
    """One POST of the ticket page: look up (404), authorize (403), parse, call one service,
    then back to the page, or the page again with the rejected form (422 or 409)."""
    principal = _principal(request)
    action, build = next((a, b) for name, a, b in TICKET_FORMS if name == form_name)
    ticket = _ticket_for(principal, ticket_id, action)
    form = build(principal, ticket, request.POST)
    result, status = submit_form(request, form, lambda data: write(principal, ticket, form))
    if result is not None:
        messages.success(request, done(result))
        return redirect(reverse("servicedesk:ticket", args=[ticket.pk]) + anchor)
    # A service may have changed the in-memory ticket before it refused: read it afresh.
    fresh = queries.ticket(principal, ticket.pk)
    return _render_ticket(request, principal, fresh, status=status, bound={form_name: form})


@page("servicedesk.comment_ticket")
@require_POST
def ticket_comment(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="note_form",
        write=lambda principal, ticket, form: services.add_comment(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda note: (
            "Reply sent."
            if note.party_id is None
            else f"Note added ({Visibility(note.visibility).label})."
        ),
        anchor="#notes",
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="status_form",
        write=lambda principal, ticket, form: services.change_status(
            actor=principal, ticket=ticket, status=form.cleaned_data["status"]
        ),
        done=lambda ticket: (
            "Status changed to "
            f"{views_queues.status_labels(desk_settings(ticket.tenant_id).statuses)[ticket.status][0]}."
        ),
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_priority(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="priority_form",
        write=lambda principal, ticket, form: services.reprioritise_ticket(
            actor=principal, ticket=ticket, **form.cleaned_data
        ),
        done=lambda ticket: f"Priority is now P{ticket.priority}; {ticket.routing_reason}",
    )


@page("servicedesk.handoff_ticket")
@require_POST
def ticket_handoff(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="handoff_form",
        write=lambda principal, ticket, form: services.handoff_ticket(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda handoff: (
            f"Handed off to {handoff.to_party.name}."
            + (
                " It came from there only recently: this counts as ping-pong."
                if handoff.is_ping_pong
                else ""
            )
        ),
    )


def _assign(principal: Principal, ticket: Ticket, form: Any) -> Ticket:
    assignee = form.arguments()["assignee"]
    if (assignee.pk if assignee else None) == ticket.assignee_id:
        # Nothing to change: say so instead of auditing a change that is none.
        raise Conflict(f"{assignee} is assigned already." if assignee else "Nobody is assigned.")
    return services.assign_ticket(actor=principal, ticket=ticket, assignee=assignee)


@page("servicedesk.change_ticket")
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="assign_form",
        write=_assign,
        done=lambda ticket: (
            f"Assigned to {ticket.assignee}." if ticket.assignee_id else "Nobody is assigned now."
        ),
    )


@page("servicedesk.log_time_on_ticket")
@require_POST
def ticket_time(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="time_form",
        write=lambda principal, ticket, form: services.log_time(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda entry: f"{_duration(entry.minutes * 60)} logged.",
        anchor="#time",
    )


# --- The responsibility matrix -----------------------------------------------------------------


def _row_form(principal: Principal, tenant: Tenant, data: Any = None) -> MatrixRowForm:
    return MatrixRowForm(
        data,
        service_areas=queries.matrix_areas(principal, tenant.pk).filter(is_active=True),
        sites=policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        asset_groups=policies.visible(
            principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant.pk)
        ),
        parties=queries.parties(principal, tenant.pk),
    )


def _render_matrix(
    request: HttpRequest,
    principal: Principal,
    tenant: Tenant,
    *,
    row_form: MatrixRowForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """Rows, coverage and findings as the principal may read them (``queries.matrix_view``,
    which the matrix API shows too)."""
    view = queries.matrix_view(principal, tenant)
    may_change = policies.allowed(principal, "servicedesk.change_matrix", tenant)
    return render(
        request,
        "servicedesk/matrix.html",
        {
            "tenant": tenant,
            "rows": view.rows,
            "coverage": view.coverage,
            "findings": [
                {"kind": FINDING_KINDS.get(f.kind, f.kind), "message": f.message}
                for f in view.findings
            ],
            "may_change": may_change,
            "row_form": (row_form or _row_form(principal, tenant)) if may_change else None,
            "section": "matrix",
        },
        status=status,
    )


@page("servicedesk.view_matrix")
def matrix(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Who is Responsible, Accountable, Consulted and Informed for what, who is on duty
    when, and what that leaves to chance this week."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.view_matrix")
    return _render_matrix(request, principal, tenant)


@page("servicedesk.change_matrix")
@require_POST
def matrix_row_create(request: HttpRequest, tenant_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.change_matrix")
    form = _row_form(principal, tenant, request.POST)
    row, status = submit_form(
        request,
        form,
        lambda data: services.add_matrix_row(actor=principal, tenant=tenant, **form.arguments()),
    )
    if row is not None:
        messages.success(
            request, f"{row.service_area.name}: {row.responsible.name} is now responsible."
        )
        return redirect("servicedesk:matrix", tenant.pk)
    return _render_matrix(request, principal, tenant, row_form=form, status=status)


@page("servicedesk.change_matrix")
@require_POST
def matrix_row_remove(request: HttpRequest, tenant_id: int, matrix_row_id: int) -> HttpResponse:
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.change_matrix")
    row = (
        ResponsibilityRow.objects.filter(tenant_id=tenant.pk, pk=matrix_row_id)
        .select_related("service_area", "responsible")
        .first()
    )
    if row is None:
        raise Http404("no such row")
    label = f"{row.service_area.name} → {row.responsible.name}"
    try:
        services.remove_matrix_row(actor=principal, row=row)
        messages.success(request, f"The row “{label}” is removed.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return redirect("servicedesk:matrix", tenant.pk)


# --- The requester portal ----------------------------------------------------------------------
# The requester's own pages: where they may open tickets, what they asked for, the public
# conversation, closing and rating. IT people who open a portal ticket page are sent to the
# full ticket page; nothing here names parties, routing reasons, SLA clocks or history.


def _requester_tenant_ids(principal: Principal) -> list[int]:
    return sorted(
        {
            a.tenant_id
            for a in principal.tenant_accesses
            if a.role_key == "requester" and a.provider_id is None
        }
    )


@page(SIGNED_IN)
def portal(request: HttpRequest) -> HttpResponse:
    """The tenants where the person is a requester, and the tickets they opened."""
    principal = _principal(request)
    tenants = list(
        tenancy_queries.tenants(principal).filter(pk__in=_requester_tenant_ids(principal))
    )
    rows = (
        queries.tickets(principal)
        .filter(requester_id=principal.user_id)
        .annotate(
            last_public_reply=Max(
                "comments__created_at", filter=Q(comments__visibility=Visibility.PUBLIC)
            )
        )
        .order_by("-created_at", "-pk")
    )
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    tickets = list(page_obj.object_list)
    labels = {
        t: views_queues.status_labels(statuses)
        for t, statuses in queries.workflows({t.tenant_id for t in tickets}).items()
    }
    for ticket in tickets:
        name, tone = labels[ticket.tenant_id].get(ticket.status, (ticket.status, "muted"))
        ticket.status_name, ticket.status_tone = name, tone  # type: ignore[attr-defined]
    return render(
        request,
        "servicedesk/portal_home.html",
        {"tenants": tenants, "tickets": tickets, "page_obj": page_obj, "section": "portal"},
    )


@page("servicedesk.add_ticket")
@require_http_methods(["GET", "POST"])
def portal_new(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Open a ticket: first the category, then its form with the category's own questions."""
    principal = _principal(request)
    tenant = _tenant_for(principal, tenant_id, "servicedesk.add_ticket")
    categories = list(Category.objects.filter(tenant_id=tenant.pk, is_active=True))
    chosen = request.POST.get("category") or request.GET.get("category") or ""
    category = next((c for c in categories if str(c.pk) == chosen), None)
    if chosen and category is None:
        raise Http404("no such category")
    context: dict[str, Any] = {"tenant": tenant, "section": "portal"}
    if category is None and categories:
        return render(
            request,
            "servicedesk/portal_category_choose.html",
            {**context, "categories": categories},
        )
    form = PortalTicketForm(
        request.POST or None, questions=portal_questions(category.form_fields if category else [])
    )
    ticket, status = submit_form(
        request,
        form,
        lambda data: services.create_ticket(
            actor=principal,
            tenant=tenant,
            requester=_user(request),
            subject=data["subject"],
            description=form.description_with_answers(),
            category_id=category.pk if category else None,
            impact=data["impact"],
            urgency=data["urgency"],
            via=Via.PORTAL,
        ),
    )
    if ticket is not None:
        messages.success(
            request, f"Ticket #{ticket.number} is open. IT will answer you on this page."
        )
        return redirect("servicedesk:portal-ticket", ticket.pk)
    return render(
        request,
        "servicedesk/portal_ticket_create.html",
        {**context, "form": form, "category": category, "has_choice": bool(categories)},
        status=status,
    )


def _portal_ticket_for(principal: Principal, ticket_id: int) -> Ticket:
    """The principal's own ticket as its requester; anything else is not found."""
    ticket = queries.ticket(principal, ticket_id)
    if queries.is_it_in(principal, ticket.tenant_id) or ticket.requester_id != principal.user_id:
        raise Http404("no such ticket")
    return ticket


def _render_portal_ticket(
    request: HttpRequest,
    principal: Principal,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    bound = bound or {}
    tenant = tenancy_queries.tenant(principal, ticket.tenant_id)
    settings = desk_settings(ticket.tenant_id)
    statuses = settings.statuses
    kinds = {key: kind for key, _name, kind in statuses}
    name, tone = views_queues.status_labels(statuses).get(ticket.status, (ticket.status, "muted"))
    kind = kinds.get(ticket.status)
    done = kind in (StatusKind.RESOLVED, StatusKind.CLOSED)
    reopens = services.reply_reopens(ticket, reopen_days=settings.reopen_days, now=timezone.now())
    context: dict[str, Any] = {
        "tenant": tenant,
        "ticket": ticket,
        "status_name": name,
        "status_tone": tone,
        "is_resolved": kind == StatusKind.RESOLVED,
        "is_closed": kind == StatusKind.CLOSED,
        # What a reply to a done ticket will do: reopen it, or open a follow-up.
        "reply_reopens": done and reopens,
        "reply_follows_up": done and not reopens,
        "section": "portal",
        "reply_form": bound.get("reply_form") or PortalReplyForm(),
        # A rejected form is shown again with its reason, whatever the ticket's state now.
        "close_form": bound.get("close_form")
        or (PortalCloseForm() if kind != StatusKind.CLOSED else None),
        "rating_form": bound.get("rating_form")
        or (RatingForm() if done and ticket.satisfaction is None else None),
        "stars": range(1, 6),
    }
    context.update(_requester_ticket_context(principal, ticket))
    return render(request, "servicedesk/portal_ticket.html", context, status=status)


@page("servicedesk.view_ticket")
def portal_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The requester's view of their ticket; IT people go to the full ticket page."""
    principal = _principal(request)
    ticket = queries.ticket(principal, ticket_id)
    if queries.is_it_in(principal, ticket.tenant_id):
        return redirect("servicedesk:ticket", ticket.pk)
    if ticket.requester_id != principal.user_id:
        raise Http404("no such ticket")
    return _render_portal_ticket(request, principal, ticket)


def _portal_post(
    request: HttpRequest,
    ticket_id: int,
    *,
    form_name: str,
    form: forms.Form,
    write: Callable[[Principal, Ticket, dict[str, Any]], Any],
    done: str | Callable[[Ticket, Any], tuple[str, int]],
    anchor: str = "",
) -> HttpResponse:
    """One POST of the portal ticket page: own ticket (else 404), parse, call one service,
    then back to the page, or the page again with the rejected form (422 or 409).

    ``done`` is the message, or a function of the ticket and the service's result giving
    the message and the ticket to go to (a reply may have opened a follow-up)."""
    principal = _principal(request)
    ticket = _portal_ticket_for(principal, ticket_id)
    result, status = submit_form(request, form, lambda data: write(principal, ticket, data))
    if result is not None:
        message, target = done(ticket, result) if callable(done) else (done, ticket.pk)
        messages.success(request, message)
        return redirect(reverse("servicedesk:portal-ticket", args=[target]) + anchor)
    fresh = queries.ticket(principal, ticket.pk)
    return _render_portal_ticket(request, principal, fresh, status=status, bound={form_name: form})


def _portal_reply(
    principal: Principal, ticket: Ticket, data: dict[str, Any]
) -> tuple[Comment, bool]:
    """A public reply, with the file if one was chosen (both or neither), and whether the
    ticket was done before it. An oversized file is refused before it is read, with the
    same limit as the ticket page's upload."""
    was_done = ticket.resolved_at is not None
    return _write_portal_reply(principal, ticket, data), was_done


def _write_portal_reply(principal: Principal, ticket: Ticket, data: dict[str, Any]) -> Comment:
    from tandem.servicedesk.views_extras import refuse_oversized  # it imports this module

    upload = data.get("file")
    if upload is None:
        return services.add_comment(
            actor=principal,
            ticket=ticket,
            body=data["body"],
            visibility=Visibility.PUBLIC,
            via=Via.PORTAL,
        )
    refuse_oversized(upload)
    return services.add_comment_with_file(
        actor=principal,
        ticket=ticket,
        body=data["body"],
        filename=upload.name or "",
        content_type=upload.content_type or "application/octet-stream",
        content=upload.read(),
        visibility=Visibility.PUBLIC,
        via=Via.PORTAL,
    )


@page("servicedesk.comment_ticket")
@require_POST
def portal_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _portal_post(
        request,
        ticket_id,
        form_name="reply_form",
        form=PortalReplyForm(request.POST, request.FILES),
        write=_portal_reply,
        done=_reply_outcome,
        anchor="#notes",
    )


def _reply_outcome(ticket: Ticket, result: tuple[Comment, bool]) -> tuple[str, int]:
    """What the requester is told after a reply, and where they go: a reply to a done
    ticket reopened it, or (after the reopen window) opened a follow-up ticket."""
    comment, was_done = result
    if comment.ticket_id != ticket.pk:
        follow_up = comment.ticket
        return (
            f"#{ticket.number} was closed a while ago, so your reply opened a new ticket, "
            f"#{follow_up.number}, linked to it. IT has been told.",
            follow_up.pk,
        )
    if was_done:
        return "Reply sent. The ticket is open again and IT has been told.", ticket.pk
    return "Reply sent.", ticket.pk


@page("servicedesk.view_ticket")
@require_POST
def portal_close(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _portal_post(
        request,
        ticket_id,
        form_name="close_form",
        form=PortalCloseForm(request.POST),
        write=lambda principal, ticket, data: services.close_ticket_by_requester(
            actor=principal, ticket=ticket
        ),
        done="The ticket is closed. Thank you.",
    )


@page("servicedesk.view_ticket")
@require_POST
def portal_rate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _portal_post(
        request,
        ticket_id,
        form_name="rating_form",
        form=RatingForm(request.POST),
        write=lambda principal, ticket, data: services.rate_ticket(
            actor=principal, ticket=ticket, score=data["score"], comment=data["comment"]
        ),
        done="Thank you for your rating.",
        anchor="#rating",
    )

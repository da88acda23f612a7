"""The queue page: filters, sorting, bulk actions, saved views and the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tandem.accounts.models import User
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.lookups import IdIn
from tandem.core.pagination import CappedPaginator
from tandem.core.policies import visible
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.core.scoping import system_context
from tandem.core.validation import parse_id
from tandem.core.widgets import grouped_options
from tandem.servicedesk import policies as policies_desk
from tandem.servicedesk.choices import SOURCE_LABELS
from tandem.servicedesk.config.queries import status_labels
from tandem.servicedesk.queues import exports, queries, services
from tandem.servicedesk.queues.forms import BulkForm, QueueForm, SavedViewForm
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket


@page("servicedesk.view_ticket")
def my_queue(request: TandemRequest) -> HttpResponse:
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


PAGE_SIZE = 50
#: The queue's filters as query parameters, and the saved-view keys they become.
PARAMS = {
    "scope": "scope",
    "tenant": "tenant_id",
    "status": "status",
    "priority": "priority",
    "party": "party_id",
    "assignee": "assignee_id",
    "service_area": "service_area_id",
    "sla": "sla",
    "q": "q",
}

#: Sortable queue columns: query parameter → field. Dates sort newest first on first click.
SORTS = {
    "number": "number",
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "party": "party__name",
    "assignee": "assignee__full_name",
    "due": "resolution_due",
    "created": "created_at",
    "tenant": "tenant__name",
    "requester": "requester__full_name",
    "source": "source",
}
NEWEST_FIRST = {"created", "due"}
#: Sort columns that can be empty (no assignee, no due date): empty ones go last.
NULLABLE_SORTS = {"assignee", "due"}
QUEUE_COLUMNS = ("number", "subject", "status", "priority", "source", "created")
#: Columns only IT sees: requesters see "IT", never which party holds a ticket, nor its SLA
#: (nor a requester column: every ticket they see is their own).
IT_COLUMNS = ("requester", "party", "assignee", "due")
DEFAULT_SORT = "-created"
#: The queue's columns in order, with their headers (which ones show: ``queue_response``).
COLUMN_LABELS = {
    "tenant": "Tenant",
    "number": "#",
    "subject": "Subject",
    "requester": "Requester",
    "status": "Status",
    "priority": "Priority",
    "source": "Source",
    "party": "Held by",
    "assignee": "Assignee",
    "due": "Resolution due",
    "sla": "SLA",
    "created": "Created",
}
#: Badge tone of a ticket's SLA state in the queues.
SLA_STATE_TONES = {"breached": "danger", "due_soon": "warn", "on_time": "ok"}


def queue_params(request: TandemRequest) -> dict[str, str]:
    """The queue's filters as query parameters: a saved view's (``?view=``, someone else's
    is 404), then those the query string gives over them. The form is bound to these, so it
    shows what a saved view filters by, and changing a field changes that filter."""
    params: dict[str, str] = {}
    view_id = parse_id(request.GET.get("view"))
    if view_id is not None:
        saved = queries.saved_view(request.principal, view_id).filters
        params.update(
            {
                param: str(saved[key])
                for param, key in PARAMS.items()
                if saved.get(key) not in (None, "")
            }
        )
    params.update({k: str(v) for k, v in request.GET.items() if k in PARAMS and v})
    return params


def queue_filters(form: QueueForm) -> dict[str, Any]:
    """The valid filters of a bound form as ``queries.queue`` keys (an invalid one is
    ignored, not fatal: a stale link or saved view still opens)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    cleaned = form.cleaned_data
    return {
        key: cleaned[param] for param, key in PARAMS.items() if cleaned.get(param) not in (None, "")
    }


def _queue_url(request: HttpRequest) -> str:
    """Where a form of a queue page returns to: the tenant's queue it was sent from
    (``return_tenant``; that page checks the tenant again), else the queue."""
    tenant_id = parse_id(request.POST.get("return_tenant"))
    if tenant_id is not None:
        return reverse("servicedesk:tickets", args=[tenant_id])
    return reverse("servicedesk_queues:queue")


def _back(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    return redirect(_queue_url(request) + (f"?{query}" if query else ""))


def _short_time(moment: dt.datetime | None, zone: ZoneInfo) -> tuple[str, str]:
    """``(ISO 8601, "3 Dec 14:05")`` of ``moment`` in ``zone``; empty strings for None."""
    if moment is None:
        return "", ""
    local = moment.astimezone(zone)
    return moment.isoformat(), f"{local.day} {local:%b %H:%M}"


def prepare_rows(tickets: Sequence[queries.QueueRow], *, now: dt.datetime) -> None:
    """Work out each row's links and times once, in Python.

    A queue page renders fifty rows; the template engine's lookups, filters and
    ``{% url %}`` tags on every cell cost more than the database did, so the rows carry
    ready-made values: ``url``, ``tenant_url``, ``created_iso``/``created_label``,
    ``due_iso``/``due_label``, ``overdue`` and the assignee's display name.
    """
    ticket_url = reverse("servicedesk:ticket", args=[0]).replace("/0/", "/{}/")
    tenant_url = reverse("servicedesk:tickets", args=[0]).replace("/0/", "/{}/")
    zones: dict[str, ZoneInfo] = {}
    for ticket in tickets:
        name = ticket.tenant_time_zone
        zone = zones.get(name) or zones.setdefault(name, ZoneInfo(name))
        ticket.url = ticket_url.format(ticket.pk)
        ticket.tenant_url = tenant_url.format(ticket.tenant_id)
        ticket.created_iso, ticket.created_label = _short_time(ticket.created_at, zone)
        ticket.due_iso, ticket.due_label = _short_time(ticket.resolution_due, zone)
        ticket.overdue = bool(ticket.resolution_due and ticket.resolution_due < now)
        ticket.assignee_name = ticket.assignee_full_name or ticket.assignee_email or ""
        ticket.requester_name = ticket.requester_full_name or ticket.requester_email
        ticket.source_label = SOURCE_LABELS.get(ticket.source, ticket.source)


def queue_response(
    request: TandemRequest,
    rows: QuerySet[Ticket],
    *,
    params: dict[str, str],
    sortable: Iterable[str],
    labels: dict[int, dict[str, tuple[str, str]]],
    it_tenants: set[int],
    context: dict[str, Any],
    template: str,
) -> HttpResponse:
    """Sort, paginate and render a queue (only the results for an htmx filter request).

    ``labels``: each tenant's status names and tones; ``it_tenants``: the tenants whose
    tickets show who holds them and their SLA state (where the person is IT; elsewhere a
    row says "IT", as requesters see it). The context gets the page, its rows and the
    column headers' sort links.
    """
    sortable = list(sortable)
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort.lstrip("-") not in sortable:
        sort = DEFAULT_SORT
    key = sort.lstrip("-")
    if key in IT_COLUMNS:
        # Sorting by who holds a ticket or when it is due would tell a requester what the
        # rows do not show; like the IT-only filters, it keeps the tenants where one is IT.
        rows = rows.filter(IdIn("tenant_id", sorted(it_tenants)))
    field = F(SORTS[key])
    if key in NULLABLE_SORTS:
        order = field.desc(nulls_last=True) if sort.startswith("-") else field.asc(nulls_last=True)
    else:
        # A plain ORDER BY, which the newest-first indexes serve; "NULLS LAST" on a column
        # that is never null would still make the database sort every matching row.
        order = field.desc() if sort.startswith("-") else field.asc()
    page_obj = CappedPaginator(
        rows.order_by(order, "-pk"), PAGE_SIZE, load=queries.queue_rows
    ).get_page(request.GET.get("page"))
    now = timezone.now()
    tickets = list(page_obj.object_list)
    prepare_rows(tickets, now=now)
    # A checkbox for each ticket the person may change (not for an auditor, nor for a
    # provider's technician on a ticket another party holds), by the policy the bulk
    # service applies: one query over the page's tickets. The service still decides for
    # each checked ticket, all or none.
    principal = request.principal
    changeable: set[int] = set()
    candidates = [t.pk for t in tickets if t.tenant_id in it_tenants]
    if candidates and principal.accesses_with("servicedesk.change_ticket"):
        # The ids were read in scope; the policy alone narrows them. Repeating the scope's
        # tenant condition beside the policy's made PostgreSQL guess one row and walk the
        # tenant's 60,000 index entries instead of fetching 50 by key (5 ms); with the
        # default ORDER BY, SQLite did the same.
        with system_context("which of a queue page's tickets the person may change"):
            mine = Ticket.objects.filter(IdIn("pk", candidates)).order_by()
            changeable = set(
                visible(principal, "servicedesk.change_ticket", mine).values_list("pk", flat=True)
            )
    for ticket in tickets:
        name, tone = labels.get(ticket.tenant_id, {}).get(ticket.status, (ticket.status, "muted"))
        ticket.status_name, ticket.status_tone = name, tone
        ticket.it = ticket.tenant_id in it_tenants
        ticket.changeable = ticket.pk in changeable
        state = queries.sla_state_of(ticket, now) if ticket.it else None
        ticket.sla_label = queries.SLA_STATES[state] if state else ""
        ticket.sla_tone = SLA_STATE_TONES.get(state or "", "muted")
    columns = []
    for key, label in COLUMN_LABELS.items():
        if key == "sla":
            if "due" in sortable:  # shown beside the due date, to IT only; not sortable
                columns.append({"label": label})
            continue
        if key not in sortable:
            continue
        if sort == key:
            target, aria = f"-{key}", "ascending"
        elif sort == f"-{key}":
            target, aria = key, "descending"
        else:
            target, aria = (f"-{key}" if key in NEWEST_FIRST else key), "none"
        columns.append(
            {"label": label, "href": "?" + urlencode({**params, "sort": target}), "aria": aria}
        )
    kept = {**params, **({"sort": sort} if sort != DEFAULT_SORT else {})}
    context.update(
        {
            "page_obj": page_obj,
            "tickets": tickets,
            "columns": columns,
            **bulk_choices(context["form"], it_view=bool(changeable)),
            # Only people who may take the tickets that can be checked, by the party that
            # holds them (``ticket_queries.takers_by_party``, the rule ``assign_ticket`` applies).
            "bulk_takers": grouped_options(
                _bulk_takers(tickets, cross_tenant=bool(context.get("cross_tenant")))
            ),
            "query_prefix": urlencode(kept) + "&" if kept else "",
            # Where the bulk change returns to: these filters and this order.
            "bulk_query": urlencode(kept),
            "filtered": bool(params),
        }
    )
    htmx = request.htmx
    partial = bool(htmx) and not htmx.history_restore_request
    response = render(request, "servicedesk/_ticket_results.html" if partial else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _bulk_takers(
    tickets: Sequence[queries.QueueRow], *, cross_tenant: bool
) -> list[tuple[str, list[tuple[int, str]]]]:
    """The bulk change's assignees, one group per party holding a ticket that can be
    checked on this page: "Held by Acme Corp IT" and the people who may take its tickets
    (the tenant's name too, on the cross-tenant queue)."""
    tenants = {t.tenant_id: t.tenant_name for t in tickets}
    groups = ticket_queries.takers_by_party(
        {t.party_id for t in tickets if getattr(t, "changeable", False)}
    )
    return [
        (
            f"Held by {name}" + (f" · {tenants.get(tenant_id, '')}" if cross_tenant else ""),
            people,
        )
        for _pk, name, tenant_id, people in groups
        if people
    ]


def bulk_choices(form: QueueForm, *, it_view: bool) -> dict[str, list[tuple[Any, str]]]:
    """The statuses the bulk change under a queue's results offers, for those who may
    change tickets (``it_view``): those the queue's own filters offer (``bulk_statuses``).
    The service still checks every checked ticket: a status that does not fit one of them
    changes none. (The assignees are ``_bulk_takers``: who may take which tickets.)"""
    if not it_view:
        return {"bulk_statuses": []}
    statuses = form.fields["status"].choices  # type: ignore[attr-defined]
    return {
        "bulk_statuses": [(k, n) for k, n in statuses if k and k not in queries.STATUS_GROUPS],
    }


@page("servicedesk.view_ticket")
def queue(request: TandemRequest) -> HttpResponse:
    """The queue: my work, my parties' work, one tenant's or every tenant's tickets, sorted
    by any column, with saved views, bulk changes and the CSV export."""
    principal = request.principal
    params = queue_params(request)
    form = QueueForm(params or None, principal=principal)
    rows = queries.queue(principal, queue_filters(form))
    it_tenants = ticket_queries.it_tenant_ids(principal)
    query = urlencode(params)
    return queue_response(
        request,
        rows,
        params=params,
        sortable=["tenant", *QUEUE_COLUMNS, *(IT_COLUMNS if it_tenants else ())],
        labels={
            tenant_id: status_labels(statuses) for tenant_id, statuses in form.workflows.items()
        },
        it_tenants=it_tenants,
        template="servicedesk/queues/queue.html",
        context={
            "form": form,
            "it_view": bool(it_tenants),
            "cross_tenant": True,
            "results_url": reverse("servicedesk_queues:queue"),
            "saved_views": queries.saved_views(principal),
            "saved_query": query,
            "export_url": reverse("servicedesk_queues:queue-export")
            + (f"?{query}" if query else ""),
            "section": "my-queue",
        },
    )


@page("servicedesk.view_ticket")
def queue_export(request: TandemRequest) -> StreamingHttpResponse:
    """The filtered queue as CSV (every page of it)."""
    principal = request.principal
    form = QueueForm(queue_params(request) or None, principal=principal)
    rows = queries.queue(principal, queue_filters(form)).order_by("-created_at", "-pk")
    response = StreamingHttpResponse(
        exports.tickets_csv(principal, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="tandem-tickets.csv"'
    return response


@page("servicedesk.change_ticket")
@require_POST
def queue_bulk(request: TandemRequest) -> HttpResponse:
    """Apply one change to every checked ticket, or to none of them."""
    principal = request.principal
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check at least one ticket and choose what to change.")
        return _back(request)
    data = form.cleaned_data
    tickets = queries.bulk_tickets(principal, data["ticket_ids"])
    try:
        assignee = None
        if data["action"] == "assign" and data.get("assignee"):
            assignee = User.objects.filter(pk=data["assignee"], is_active=True).first()
            if assignee is None:
                # Told as for a real person who may not take the tickets: the answer must
                # not tell which ids belong to someone.
                raise InvalidInput({"assignee_id": [ticket_services.NOT_ASSIGNABLE]})
        services.bulk_update_tickets(
            actor=principal,
            tickets=tickets,
            action=data["action"],
            assignee=assignee,
            status=data.get("status") or None,
            urgency=data.get("urgency"),
        )
    except PermissionDenied:
        messages.error(request, "You may not change every one of those tickets: none changed.")
        return _back(request)
    except (InvalidInput, Conflict) as exc:
        detail = exc.in_words if isinstance(exc, InvalidInput) else str(exc)
        messages.error(request, f"Nothing changed: {detail}")
        return _back(request)
    messages.success(request, f"Changed {len(tickets)} tickets.")
    return _back(request)


@page("servicedesk.view_ticket")
@require_POST
def saved_view_create(request: TandemRequest) -> HttpResponse:
    """Save the queue's current filters under a name (for the person saving them only)."""
    principal = request.principal
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the view a name.")
        return _back(request)
    params = {k: v for k, v in parse_qsl(form.cleaned_data["query"]) if k in PARAMS}
    filters = _filters_from_params(principal, params)
    try:
        view = services.create_saved_view(
            actor=principal, name=form.cleaned_data["name"], filters=filters
        )
    except (InvalidInput, Conflict) as exc:
        detail = exc.in_words if isinstance(exc, InvalidInput) else str(exc)
        messages.error(request, f"Not saved: {detail}")
        return _back(request)
    messages.success(request, f"Saved the view {view.name!r}.")
    return redirect(_queue_url(request) + f"?view={view.pk}")


@page("servicedesk.view_ticket")
@require_POST
def saved_view_delete(request: TandemRequest, saved_view_id: int) -> HttpResponse:
    principal = request.principal
    view = queries.saved_view(principal, saved_view_id)
    services.delete_saved_view(actor=principal, view=view)
    messages.success(request, f"Deleted the view {view.name!r}.")
    return redirect(_queue_url(request))


def _filters_from_params(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    """The valid filters of a queue query string, as saved-view keys."""
    if not params:
        return {}
    # Invalid filters are dropped, as on the queue page.
    return queue_filters(QueueForm(params, principal=principal))


# --- A tenant's queue ------------------------------------------------------------------------


@page("servicedesk.view_ticket")
def tickets(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """The tenant's queue: every ticket of the tenant the principal may see, with the
    filters, saved views and export of the cross-tenant queue (the same form and
    ``queries.queue``), narrowed to this tenant."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "servicedesk.view_ticket")
    settings = desk_settings(tenant.pk)
    it_view = ticket_queries.is_it_in(principal, tenant.pk)
    # The tenant is the page's own: a ``tenant`` parameter (from a saved view) is not a filter.
    params = {k: v for k, v in queue_params(request).items() if k != "tenant"}
    form = QueueForm(
        params or None,
        principal=principal,
        tenant=tenant,
        priorities=settings.priority_matrix["priorities"],
    )
    rows = queries.queue(principal, {**queue_filters(form), "tenant_id": tenant.pk})
    with_tenant = urlencode({**params, "tenant": str(tenant.pk)})
    return queue_response(
        request,
        rows,
        params=params,
        sortable=[*QUEUE_COLUMNS, *(IT_COLUMNS if it_view else ())],
        labels={tenant.pk: status_labels(settings.statuses)},
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

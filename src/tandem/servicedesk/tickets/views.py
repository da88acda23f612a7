"""The IT pages of a ticket: list, create, log for a caller, the ticket page and every
action on it (notes, status, priority, handoff, assign, time, files, merge, parent, tags,
watchers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tandem.accounts.principals import signed_in_user
from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pages import submit_form
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.responsibility import queries as matrix_queries
from tandem.servicedesk import policies as policies_desk
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config.models import Category
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.servicedesk.tickets import detail, device_services, queries, services
from tandem.servicedesk.tickets import link_services as links
from tandem.servicedesk.tickets import note_services as notes
from tandem.servicedesk.tickets.attachments import (
    _message,
    file_response,
    readable_attachment,
    upload_attachment,
)
from tandem.servicedesk.tickets.detail import (
    TICKET_FORMS,
    _duration,
    _note_form,
    _render_ticket,
)
from tandem.servicedesk.tickets.forms import (
    TicketCreateForm,
    TicketLogForm,
)
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Site


def _ticket_for(principal: Principal, ticket_id: int, action: str) -> Ticket:
    """The ticket if the principal sees it (else 404) and may ``action`` on it (else 403)."""
    ticket = queries.ticket(principal, ticket_id)
    if not policies.allowed(principal, action, ticket):
        raise PermissionDenied(f"not allowed: {action}")
    return ticket


# --- A new ticket ------------------------------------------------------------------------------


@page("servicedesk.add_ticket")
@require_http_methods(["GET", "POST"])
def ticket_create(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Open a ticket; the responsibility matrix decides who gets it."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "servicedesk.add_ticket")
    matrix = desk_settings(tenant.pk).priority_matrix
    form = TicketCreateForm(
        request.POST or None,
        categories=Category.objects.filter(tenant_id=tenant.pk, is_active=True),
        sites=policies.visible(
            principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant.pk)
        ),
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
        devices=queries.linkable_devices(principal, tenant.pk),
    )
    ticket, status = submit_form(
        request,
        form,
        lambda data: services.create_ticket(
            actor=principal, tenant=tenant, requester=signed_in_user(request), **form.arguments()
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
def ticket_log(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """A technician logs a ticket for a caller: finds or adds the requester, records how
    they called, and may choose who takes the ticket. The caller search works without
    script (the "Find" button sends the form back with GET, keeping what was typed) and
    with htmx (typing refreshes the list of people in place)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "servicedesk.log_ticket")
    accesses = policies_desk.may_log_for_callers(principal, tenant.pk)
    if not accesses:
        raise Http404("no such page")
    internal = any(a.provider_id is None for a in accesses)
    data = request.POST if request.method == "POST" else None
    given = request.POST if data is not None else request.GET
    chosen = given.get("requester_id", "")
    matrix = desk_settings(tenant.pk).priority_matrix
    areas = matrix_queries.matrix_areas(principal, tenant.pk).values("pk")
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
        devices=queries.linkable_devices(principal, tenant.pk),
        parties=parties,
        people=people,
    )
    htmx = request.htmx
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


@page("servicedesk.view_ticket")
def ticket_detail(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """The ticket page. ``?canned=<id>`` puts one of the person's canned replies into the
    note form (the picker above it sends that GET; htmx swaps in just the form)."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    canned = request.GET.get("canned", "")
    bound: dict[str, forms.Form] = {}
    if canned.isdigit() and policies.allowed(principal, "servicedesk.comment_ticket", ticket):
        reply = (
            config_queries.canned_replies(principal, ticket.tenant_id)
            .filter(pk=int(canned))
            .first()
        )
        if reply is None:
            raise Http404("no such canned reply")
        form = _note_form(principal, ticket)
        form.initial = {**form.initial, "body": reply.body}
        bound["note_form"] = form
    return _render_ticket(request, principal, ticket, bound=bound)


def _work_on_ticket(
    request: TandemRequest,
    ticket_id: int,
    *,
    form_name: str,
    write: Callable[[Principal, Ticket, Any], Any],
    done: Callable[[Any], str],
    anchor: str = "",
) -> HttpResponse:
    """One POST of the ticket page: look up (404), authorize (403), parse, call one service,
    then back to the page, or the page again with the rejected form (422 or 409)."""
    principal = request.principal
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
def ticket_comment(request: TandemRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="note_form",
        write=lambda principal, ticket, form: notes.add_comment(
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
def ticket_status(request: TandemRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="status_form",
        write=lambda principal, ticket, form: services.change_status(
            actor=principal, ticket=ticket, status=form.cleaned_data["status"]
        ),
        done=lambda ticket: (
            "Status changed to "
            f"{config_queries.status_labels(desk_settings(ticket.tenant_id).statuses)[ticket.status][0]}."
        ),
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_priority(request: TandemRequest, ticket_id: int) -> HttpResponse:
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
def ticket_handoff(request: TandemRequest, ticket_id: int) -> HttpResponse:
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
def ticket_assign(request: TandemRequest, ticket_id: int) -> HttpResponse:
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
def ticket_time(request: TandemRequest, ticket_id: int) -> HttpResponse:
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="time_form",
        write=lambda principal, ticket, form: notes.log_time(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda entry: f"{_duration(entry.minutes * 60)} logged.",
        anchor="#time",
    )


T = TypeVar("T")


@page("servicedesk.view_ticket")
@require_GET
def attachment_download(request: TandemRequest, attachment_id: int) -> FileResponse:
    principal = request.principal
    return file_response(readable_attachment(principal, attachment_id))


@page("servicedesk.comment_ticket")
@require_POST
def ticket_attach(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """The upload form of the ticket page: one file, in a tier the uploader may write."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    if not policies.allowed(principal, "servicedesk.comment_ticket", ticket):
        raise PermissionDenied("not allowed: servicedesk.comment_ticket")
    upload = request.FILES.get("file")
    visibility = request.POST.get("visibility") or Visibility.SHARED
    try:
        if upload is None:
            raise InvalidInput({"file": ["Choose a file."]})
        attachment = upload_attachment(
            actor=principal,
            ticket=ticket,
            upload=upload,
            visibility=visibility,
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, _message(exc))
        return redirect(reverse("servicedesk:ticket", args=[ticket.pk]) + "#attachments")
    messages.success(request, f"{attachment.filename} attached.")
    return redirect(reverse("servicedesk:ticket", args=[ticket.pk]) + "#attachments")


def _numbered(principal: Principal, ticket: Ticket, number: int, field: str) -> Ticket:
    """The ticket numbered ``number`` in ``ticket``'s tenant, if the person sees it; else a
    form error on ``field`` (the same for a number that does not exist)."""
    found = queries.tickets(principal).filter(tenant_id=ticket.tenant_id, number=number).first()
    if found is None:
        raise InvalidInput({field: [f"There is no ticket #{number} in {ticket.tenant.name}."]})
    return found


def _on_field(field: str, write: Callable[[], T]) -> T:
    """Run ``write``, showing a service's errors about the other ticket (``into_id``,
    ``parent_id``) on the form's ``field`` and those about the ticket itself (``ticket_id``)
    above the form."""
    try:
        return write()
    except InvalidInput as exc:
        moved = {"into_id": field, "parent_id": field, "ticket_id": "__all__"}
        raise InvalidInput(
            {moved.get(name, name): errors for name, errors in exc.field_errors.items()}
        ) from exc


@dataclass(frozen=True)
class MergePreview:
    """The merge's confirmation step: the service would accept it; nothing is written."""

    into: Ticket


def _merge(principal: Principal, ticket: Ticket, data: dict[str, Any]) -> Any:
    into = _numbered(principal, ticket, data["into"], "into")
    if not policies.allowed(principal, "servicedesk.change_ticket", into):
        # Merging closes a ticket and writes into the other's history: both must be workable.
        raise InvalidInput({"into": [f"You may not work on #{into.number}, so not merge into it."]})
    if not data["confirm"]:
        _on_field("into", lambda: links.check_merge(actor=principal, ticket=ticket, into=into))
        return MergePreview(into=into)
    return _on_field("into", lambda: links.merge_ticket(actor=principal, ticket=ticket, into=into))


@page("servicedesk.change_ticket")
@require_POST
def ticket_merge(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Merge the ticket into another, in two steps: the number, then a confirmation that
    shows both subjects. A refusal (unknown number, itself, a merged ticket) changes nothing
    and is shown on the form."""
    principal = request.principal
    ticket = _ticket_for(principal, ticket_id, "servicedesk.change_ticket")
    form = detail._merge_form(principal, ticket, request.POST)
    result, status = submit_form(request, form, lambda data: _merge(principal, ticket, data))
    if isinstance(result, MergePreview):
        return detail._render_ticket(
            request, principal, ticket, extra={"merge_preview": result.into}
        )
    if result is not None:
        into = result.merged_into
        messages.success(request, f"#{ticket.number} is merged into #{into.number} and closed.")
        return redirect(reverse("servicedesk:ticket", args=[ticket.pk]))
    fresh = queries.ticket(principal, ticket.pk)
    return detail._render_ticket(
        request, principal, fresh, status=status, bound={"merge_form": form}
    )


def _link_parent(principal: Principal, ticket: Ticket, form: Any) -> Ticket:
    number = form.cleaned_data["parent"]
    parent = None if number is None else _numbered(principal, ticket, number, "parent")
    return _on_field(
        "parent", lambda: links.link_parent(actor=principal, ticket=ticket, parent=parent)
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_parent(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Make the ticket a child of another (by number), or of none (empty)."""
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="parent_form",
        write=_link_parent,
        done=lambda ticket: (
            f"#{ticket.number} is now a child of #{ticket.parent.number}."
            if ticket.parent_id
            else f"#{ticket.number} has no parent now."
        ),
        anchor="#links",
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_tags(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Replace the ticket's tags."""
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="tags_form",
        write=lambda principal, ticket, form: links.set_tags(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda ticket: (
            f"Tags: {', '.join(ticket.tags)}." if ticket.tags else "The ticket has no tags now."
        ),
        anchor="#links",
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_devices(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Set the devices the ticket names (of those the person sees)."""
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="devices_form",
        write=lambda principal, ticket, form: device_services.set_ticket_devices(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda ticket: "The ticket's devices are saved.",
        anchor="#links",
    )


@page("servicedesk.view_ticket")
@require_POST
def ticket_watch(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Follow the ticket yourself."""
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="watch_form",
        write=lambda principal, ticket, form: _on_field(
            "__all__", lambda: links.watch_ticket(actor=principal, ticket=ticket)
        ),
        done=lambda ticket: "You watch this ticket now.",
        anchor="#watchers",
    )


@page("servicedesk.view_ticket")
@require_POST
def ticket_unwatch(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """Stop following the ticket."""
    return _work_on_ticket(
        request,
        ticket_id,
        form_name="watch_form",
        write=lambda principal, ticket, form: _on_field(
            "__all__", lambda: links.unwatch_ticket(actor=principal, ticket=ticket)
        ),
        done=lambda ticket: "You no longer watch this ticket.",
        anchor="#watchers",
    )

"""The requester portal: their tickets, a new ticket, replies, closing and rating."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.principals import signed_in_user
from tandem.core.actions import page
from tandem.core.pages import submit_form
from tandem.core.policies import SIGNED_IN
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.servicedesk.choices import StatusKind, Via, Visibility
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config.models import Category
from tandem.servicedesk.portal.forms import (
    PortalCloseForm,
    PortalReplyForm,
    PortalTicketForm,
    RatingForm,
    portal_questions,
)
from tandem.servicedesk.sla_bridge import desk_settings
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.attachments import refuse_oversized
from tandem.servicedesk.tickets.detail import _requester_ticket_context
from tandem.servicedesk.tickets.models import Comment, Ticket
from tandem.tenancy import queries as tenancy_queries

# --- The requester portal ----------------------------------------------------------------------
# The requester's own pages: where they may open tickets, what they asked for, the public
# conversation, closing and rating. IT people who open a portal ticket page are sent to the
# full ticket page; nothing here names parties, routing reasons, SLA clocks or history.


PAGE_SIZE = 50


def _requester_tenant_ids(principal: Principal) -> list[int]:
    return sorted(
        {
            a.tenant_id
            for a in principal.tenant_accesses
            if a.role_key == "requester" and a.provider_id is None
        }
    )


@page(SIGNED_IN)
def portal(request: TandemRequest) -> HttpResponse:
    """The tenants where the person is a requester, and the tickets they opened."""
    principal = request.principal
    tenants = list(
        tenancy_queries.tenants(principal).filter(pk__in=_requester_tenant_ids(principal))
    )
    rows = (
        ticket_queries.tickets(principal)
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
        t: config_queries.status_labels(statuses)
        for t, statuses in config_queries.workflows({t.tenant_id for t in tickets}).items()
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
def portal_new(request: TandemRequest, tenant_id: int) -> HttpResponse:
    """Open a ticket: first the category, then its form with the category's own questions."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id, "servicedesk.add_ticket")
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
        lambda data: ticket_services.create_ticket(
            actor=principal,
            tenant=tenant,
            requester=signed_in_user(request),
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
    ticket = ticket_queries.ticket(principal, ticket_id)
    if (
        ticket_queries.is_it_in(principal, ticket.tenant_id)
        or ticket.requester_id != principal.user_id
    ):
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
    name, tone = config_queries.status_labels(statuses).get(ticket.status, (ticket.status, "muted"))
    kind = kinds.get(ticket.status)
    done = kind in (StatusKind.RESOLVED, StatusKind.CLOSED)
    reopens = ticket_services.reply_reopens(
        ticket, reopen_days=settings.reopen_days, now=timezone.now()
    )
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
def portal_ticket(request: TandemRequest, ticket_id: int) -> HttpResponse:
    """The requester's view of their ticket; IT people go to the full ticket page."""
    principal = request.principal
    ticket = ticket_queries.ticket(principal, ticket_id)
    if ticket_queries.is_it_in(principal, ticket.tenant_id):
        return redirect("servicedesk:ticket", ticket.pk)
    if ticket.requester_id != principal.user_id:
        raise Http404("no such ticket")
    return _render_portal_ticket(request, principal, ticket)


def _portal_post(
    request: TandemRequest,
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
    principal = request.principal
    ticket = _portal_ticket_for(principal, ticket_id)
    result, status = submit_form(request, form, lambda data: write(principal, ticket, data))
    if result is not None:
        message, target = done(ticket, result) if callable(done) else (done, ticket.pk)
        messages.success(request, message)
        return redirect(reverse("servicedesk:portal-ticket", args=[target]) + anchor)
    fresh = ticket_queries.ticket(principal, ticket.pk)
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
    upload = data.get("file")
    if upload is None:
        return ticket_notes.add_comment(
            actor=principal,
            ticket=ticket,
            body=data["body"],
            visibility=Visibility.PUBLIC,
            via=Via.PORTAL,
        )
    refuse_oversized(upload)
    return ticket_notes.add_comment_with_file(
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
def portal_reply(request: TandemRequest, ticket_id: int) -> HttpResponse:
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
def portal_close(request: TandemRequest, ticket_id: int) -> HttpResponse:
    return _portal_post(
        request,
        ticket_id,
        form_name="close_form",
        form=PortalCloseForm(request.POST),
        write=lambda principal, ticket, data: ticket_notes.close_ticket_by_requester(
            actor=principal, ticket=ticket
        ),
        done="The ticket is closed. Thank you.",
    )


@page("servicedesk.view_ticket")
@require_POST
def portal_rate(request: TandemRequest, ticket_id: int) -> HttpResponse:
    return _portal_post(
        request,
        ticket_id,
        form_name="rating_form",
        form=RatingForm(request.POST),
        write=lambda principal, ticket, data: ticket_notes.rate_ticket(
            actor=principal, ticket=ticket, score=data["score"], comment=data["comment"]
        ),
        done="Thank you for your rating.",
        anchor="#rating",
    )

"""Service-desk pages for ticket extras: download a file, upload one from the ticket page;
merge the ticket into another (with a confirmation step), set or clear its parent, edit its
tags, watch or unwatch it, and the ticket page's block that shows all of these.

Files are never served from a public media URL: every download passes here, looks the
ticket up through its policy and the file through the note tiers, and answers 404 to anyone
who may not read that tier.

Other tickets are named by their number in the ticket's tenant and looked up among the
tickets the person sees: an unknown number, one of another tenant or one out of reach is
the same form error ("no ticket #N"), so the form tells nothing about tickets one may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.pages import submit_form
from tandem.core.principal import Principal
from tandem.servicedesk import queries, services
from tandem.servicedesk import views as desk_views
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.models import Attachment, Ticket
from tandem.servicedesk.policies import may_write_internal_notes

T = TypeVar("T")

#: Types a browser may show as themselves; anything else is sent as opaque bytes.
INLINE_SAFE_PREFIXES = ("image/", "text/")
INLINE_SAFE_TYPES = frozenset({"application/pdf"})
#: Images that can carry script are never sent with their own type.
UNSAFE_IMAGE_TYPES = frozenset({"image/svg+xml"})


def readable_attachment(principal: Principal, attachment_id: int) -> Attachment:
    """The attachment if the principal sees its ticket and may read its tier; else 404."""
    found = Attachment.objects.filter(pk=attachment_id).values_list("ticket_id", flat=True).first()
    if found is None:
        raise Http404("no such file")
    ticket = queries.ticket(principal, found)
    attachment = queries.attachments(principal, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("no such file")
    return attachment


def served_type(content_type: str) -> str:
    """The Content-Type a file is served with: its own only when it is safe to show."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in UNSAFE_IMAGE_TYPES:
        return "application/octet-stream"
    if kind in INLINE_SAFE_TYPES or kind.startswith(INLINE_SAFE_PREFIXES):
        return "text/plain" if kind.startswith("text/") else kind
    return "application/octet-stream"


def file_response(attachment: Attachment) -> FileResponse:
    """Stream the file as a download, never sniffed, never cached by shared caches."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=served_type(attachment.content_type),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@page("servicedesk.view_ticket")
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    principal: Principal = request.principal  # type: ignore[attr-defined]
    return file_response(readable_attachment(principal, attachment_id))


@page("servicedesk.comment_ticket")
@require_POST
def ticket_attach(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The upload form of the ticket page: one file, in a tier the uploader may write."""
    principal: Principal = request.principal  # type: ignore[attr-defined]
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


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, InvalidInput) else str(exc)


def refuse_oversized(upload: Any) -> None:
    """Refuse an upload over the size limit before reading it into memory."""
    limit = settings.MAIL_MAX_ATTACHMENT_BYTES
    if upload.size is not None and upload.size > limit:
        name = upload.name or "The file"
        raise InvalidInput({"file": [f"{name}: larger than {limit // (1024 * 1024)} MB."]})


def upload_attachment(*, actor: Principal, ticket, upload, visibility: str) -> Attachment:  # type: ignore[no-untyped-def]
    """Read an upload (refusing an oversized one before reading it) and keep it through
    ``services.attach_file``, which applies the type rules and the audit."""
    refuse_oversized(upload)
    return services.attach_file(
        actor=actor,
        ticket=ticket,
        filename=upload.name or "",
        content_type=upload.content_type or "application/octet-stream",
        content=upload.read(),
        visibility=visibility,
    )


# --- The ticket page's related tickets, tags and watchers --------------------------------------


def ticket_links_context(
    principal: Principal, ticket: Ticket, *, labels: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """What the ticket page shows of the ticket's relations: the ticket it was merged into,
    those merged into it, its parent and children (with their status; ``labels`` is the
    tenant's ``{status: (name, tone)}``), its watchers, and the files the person may read.
    Related tickets the person does not see are left out (a hidden parent is only said to
    exist)."""
    visible = queries.tickets(principal)
    related = {
        t.pk: t
        for t in visible.filter(pk__in=[p for p in (ticket.parent_id, ticket.merged_into_id) if p])
    }
    children = list(visible.filter(parent_id=ticket.pk).order_by("number"))
    for child in children:
        name, tone = labels.get(child.status, (child.status, "muted"))
        child.status_name, child.status_tone = name, tone  # type: ignore[attr-defined]
    watchers = list(ticket.watchers.order_by("full_name", "email"))
    parent = related.get(ticket.parent_id or 0)
    if parent is not None:
        name, tone = labels.get(parent.status, (parent.status, "muted"))
        parent.status_name, parent.status_tone = name, tone  # type: ignore[attr-defined]
    return {
        "merged_into": related.get(ticket.merged_into_id or 0),
        "merged_here": list(visible.filter(merged_into_id=ticket.pk).order_by("number")),
        "parent": parent,
        "parent_hidden": ticket.parent_id is not None and parent is None,
        "children": children,
        "watchers": watchers,
        "watching": any(w.pk == principal.user_id for w in watchers),
        "attachments": list(queries.attachments(principal, ticket).order_by("id")),
        "may_attach": policies.allowed(principal, "servicedesk.comment_ticket", ticket),
        "tiers": (
            Visibility.choices
            if may_write_internal_notes(principal, ticket.tenant_id)
            else [(Visibility.PUBLIC.value, Visibility.PUBLIC.label)]
        ),
    }


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
        _on_field("into", lambda: services.check_merge(actor=principal, ticket=ticket, into=into))
        return MergePreview(into=into)
    return _on_field(
        "into", lambda: services.merge_ticket(actor=principal, ticket=ticket, into=into)
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_merge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Merge the ticket into another, in two steps: the number, then a confirmation that
    shows both subjects. A refusal (unknown number, itself, a merged ticket) changes nothing
    and is shown on the form."""
    principal: Principal = request.principal  # type: ignore[attr-defined]
    ticket = desk_views._ticket_for(principal, ticket_id, "servicedesk.change_ticket")
    form = desk_views._merge_form(principal, ticket, request.POST)
    result, status = submit_form(request, form, lambda data: _merge(principal, ticket, data))
    if isinstance(result, MergePreview):
        return desk_views._render_ticket(
            request, principal, ticket, extra={"merge_preview": result.into}
        )
    if result is not None:
        into = result.merged_into
        messages.success(request, f"#{ticket.number} is merged into #{into.number} and closed.")
        return redirect(reverse("servicedesk:ticket", args=[ticket.pk]))
    fresh = queries.ticket(principal, ticket.pk)
    return desk_views._render_ticket(
        request, principal, fresh, status=status, bound={"merge_form": form}
    )


def _link_parent(principal: Principal, ticket: Ticket, form: Any) -> Ticket:
    number = form.cleaned_data["parent"]
    parent = None if number is None else _numbered(principal, ticket, number, "parent")
    return _on_field(
        "parent", lambda: services.link_parent(actor=principal, ticket=ticket, parent=parent)
    )


@page("servicedesk.change_ticket")
@require_POST
def ticket_parent(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Make the ticket a child of another (by number), or of none (empty)."""
    return desk_views._work_on_ticket(
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
def ticket_tags(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Replace the ticket's tags."""
    return desk_views._work_on_ticket(
        request,
        ticket_id,
        form_name="tags_form",
        write=lambda principal, ticket, form: services.set_tags(
            actor=principal, ticket=ticket, **form.arguments()
        ),
        done=lambda ticket: (
            f"Tags: {', '.join(ticket.tags)}." if ticket.tags else "The ticket has no tags now."
        ),
        anchor="#links",
    )


@page("servicedesk.view_ticket")
@require_POST
def ticket_watch(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Follow the ticket yourself."""
    return desk_views._work_on_ticket(
        request,
        ticket_id,
        form_name="watch_form",
        write=lambda principal, ticket, form: _on_field(
            "__all__", lambda: services.watch_ticket(actor=principal, ticket=ticket)
        ),
        done=lambda ticket: "You watch this ticket now.",
        anchor="#watchers",
    )


@page("servicedesk.view_ticket")
@require_POST
def ticket_unwatch(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Stop following the ticket."""
    return desk_views._work_on_ticket(
        request,
        ticket_id,
        form_name="watch_form",
        write=lambda principal, ticket, form: _on_field(
            "__all__", lambda: services.unwatch_ticket(actor=principal, ticket=ticket)
        ),
        done=lambda ticket: "You no longer watch this ticket.",
        anchor="#watchers",
    )

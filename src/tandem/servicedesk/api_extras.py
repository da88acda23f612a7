"""Service-desk API: ticket extras (files, merge, parent and child, tags, watchers).

Thin handlers: find the ticket through its policy (out of reach is 404), call one service.
A file is served only to those who may read its tier; everyone else gets 404.
"""

import datetime as dt

from django.http import Http404, HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field, RootModel

from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination, RequesterShape, by_audience, principal_of
from tandem.core.errors import InvalidInput
from tandem.servicedesk import queries, services
from tandem.servicedesk.models import Ticket
from tandem.servicedesk.schemas import TicketView
from tandem.servicedesk.views_extras import file_response, readable_attachment, upload_attachment

router = Router(tags=["service desk"])


class AttachmentOut(Schema):
    """A file as the people who work in its tenant for a party see it."""

    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    visibility: str
    party_id: int | None
    created_at: dt.datetime


class RequesterAttachmentOut(RequesterShape):
    """A public file as the requester's portal lists it: never whose party attached it."""

    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime


class AttachmentView(
    RootModel[by_audience(it=AttachmentOut, requester=RequesterAttachmentOut)]  # type: ignore[misc]
):
    """A file in the shape its reader may see: AttachmentOut for the people who work in its
    tenant for a party, RequesterAttachmentOut for anyone else (its requester)."""


class MergeIn(Schema):
    into_id: Id


class ParentIn(Schema):
    parent_id: Id | None = None


class TagsIn(Schema):
    tags: list[str] = Field(default_factory=list, max_length=100)


class WatchOut(Schema):
    ticket_id: int
    watching: bool


def _other_ticket(request: HttpRequest, ticket_id: int, field: str) -> Ticket:
    """A second ticket named in the body: out of reach reads as bad input, not 404."""
    try:
        return queries.ticket(principal_of(request), ticket_id)
    except Http404 as exc:
        raise InvalidInput({field: ["No such ticket."]}) from exc


@router.get("/tickets/{ticket_id}/attachments", response=list[AttachmentView])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_attachments(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """The ticket's files in the tiers the caller may read."""
    principal = principal_of(request)
    return queries.attachments(principal, queries.ticket(principal, ticket_id)).order_by("id")


@router.post("/tickets/{ticket_id}/attachments", response={201: AttachmentView})
@declare_action("servicedesk.comment_ticket")
def upload_file(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    ticket_id: Id,
    file: File[UploadedFile],
    visibility: Form[str] = "shared",
):
    """Attach one file (multipart). Programs and scripts, empty files and files over the
    size limit are refused; requesters attach public files only."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    return 201, upload_attachment(
        actor=principal, ticket=ticket, upload=file, visibility=visibility
    )


@router.get("/attachments/{attachment_id}/download", response={200: None})
@declare_action("servicedesk.view_ticket")
def download_file(request: HttpRequest, attachment_id: Id):  # type: ignore[no-untyped-def]
    """The file's bytes, as a download; 404 unless the caller may read its tier."""
    return file_response(readable_attachment(principal_of(request), attachment_id))


@router.post("/tickets/{ticket_id}/merge", response=TicketView)
@declare_action("servicedesk.change_ticket")
def merge(request: HttpRequest, ticket_id: Id, payload: MergeIn):  # type: ignore[no-untyped-def]
    """Merge this ticket into another of the same tenant; it is closed and points there."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    into = _other_ticket(request, payload.into_id, "into_id")
    services.merge_ticket(actor=principal, ticket=ticket, into=into)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/parent", response=TicketView)
@declare_action("servicedesk.change_ticket")
def set_parent(request: HttpRequest, ticket_id: Id, payload: ParentIn):  # type: ignore[no-untyped-def]
    """Make the ticket a child of another (``parent_id``), or of none (null)."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    parent = (
        None
        if payload.parent_id is None
        else _other_ticket(request, payload.parent_id, "parent_id")
    )
    services.link_parent(actor=principal, ticket=ticket, parent=parent)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/tags", response=TicketView)
@declare_action("servicedesk.change_ticket")
def set_tags(request: HttpRequest, ticket_id: Id, payload: TagsIn):  # type: ignore[no-untyped-def]
    """Replace the ticket's tags (lower-cased, at most 20)."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    services.set_tags(actor=principal, ticket=ticket, tags=payload.tags)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/watch", response=WatchOut)
@declare_action("servicedesk.view_ticket")
def watch(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Follow the ticket yourself."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    services.watch_ticket(actor=principal, ticket=ticket)
    return {"ticket_id": ticket.pk, "watching": True}


@router.post("/tickets/{ticket_id}/unwatch", response=WatchOut)
@declare_action("servicedesk.view_ticket")
def unwatch(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Stop following the ticket."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    services.unwatch_ticket(actor=principal, ticket=ticket)
    return {"ticket_id": ticket.pk, "watching": False}

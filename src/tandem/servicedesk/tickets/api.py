"""The ticket API: tickets, notes, events, time, files, merge, parent, tags, watchers."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.pagination import paginate

from tandem.accounts.models import User
from tandem.assets import queries as device_queries
from tandem.core.actions import declare_action
from tandem.core.api import (
    CappedLimitOffsetPagination,
    Id,
    Pagination,
    ordered,
)
from tandem.core.errors import InvalidInput
from tandem.core.request import TandemRequest, tenant_in_body
from tandem.servicedesk.queues import queries as queue_queries
from tandem.servicedesk.tickets import device_services, queries, services
from tandem.servicedesk.tickets import link_services as links
from tandem.servicedesk.tickets import note_services as notes
from tandem.servicedesk.tickets.attachments import (
    file_response,
    readable_attachment,
    upload_attachment,
)
from tandem.servicedesk.tickets.models import Ticket
from tandem.servicedesk.tickets.queries import TICKET_ORDER
from tandem.servicedesk.tickets.schemas import (
    AssignIn,
    AttachmentView,
    CommentIn,
    CommentView,
    DeviceTicketOut,
    EventOut,
    HandoffIn,
    MergeIn,
    ParentIn,
    PriorityIn,
    StatusIn,
    TagsIn,
    TicketDeviceOut,
    TicketDevicesIn,
    TicketFilter,
    TicketIn,
    TicketView,
    TimeIn,
    TimeOut,
    WatchOut,
)

router = Router(tags=["service desk"])

#: A party id the caller may not see reads exactly as one that does not exist.
NO_SUCH_PARTY = "No such party in this tenant."


@router.get("/tickets", response=list[TicketView])
@paginate(CappedLimitOffsetPagination)
@declare_action("servicedesk.view_ticket")
def list_tickets(request: TandemRequest, filters: Query[TicketFilter], ordering: str | None = None):  # type: ignore[no-untyped-def]
    principal = request.principal
    rows = filters.filter(queries.tickets(principal))
    if queue_queries.uses_it_only(filters.model_dump(), ordering):
        rows = queue_queries.only_where_it(principal, rows)
    # TicketView names only the party: joining the tenant, people and area as the pages do
    # tripled the time PostgreSQL spent planning the page's load.
    rows = rows.select_related(None).select_related("party")
    return ordered(rows, ordering or "-created_at", TICKET_ORDER)


@router.post("/tickets", response={201: TicketView})
@declare_action("servicedesk.add_ticket")
def create_ticket(request: TandemRequest, payload: TicketIn):  # type: ignore[no-untyped-def]
    """Open a ticket as its requester, or (IT people) log one for a caller: the caller is
    one of the tenant's people (``requester_id``) or someone new (``requester``), with how
    they called (``source``) and optionally who takes it (``party_id``, ``assignee_id``).
    Requesters may not set those (403)."""
    principal = request.principal
    tenant = tenant_in_body(principal, payload.tenant_id)
    own = payload.model_dump(
        exclude={"tenant_id", "requester_id", "requester", "source", "party_id", "assignee_id"}
    )
    if payload.logs_for_caller():
        caller = payload.requester
        ticket = services.log_ticket_for_caller(
            actor=principal,
            tenant=tenant,
            requester_id=payload.requester_id,
            new_requester_name=caller.full_name if caller else "",
            new_requester_email=caller.email if caller else "",
            source=payload.source or "",
            holder_id=payload.party_id,
            assignee_id=payload.assignee_id,
            via="api",
            **own,
        )
    else:
        user = User.objects.get(pk=principal.user_id or 0)
        ticket = services.create_ticket(
            actor=principal, tenant=tenant, requester=user, via="api", **own
        )
    return 201, queries.ticket(principal, ticket.pk)


@router.get("/tickets/{ticket_id}", response=TicketView)
@declare_action("servicedesk.view_ticket")
def get_ticket(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    return queries.ticket(request.principal, ticket_id)


@router.post("/tickets/{ticket_id}/status", response=TicketView)
@declare_action("servicedesk.change_ticket")
def change_status(request: TandemRequest, ticket_id: Id, payload: StatusIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    services.change_status(actor=principal, ticket=ticket, status=payload.status)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/priority", response=TicketView)
@declare_action("servicedesk.change_ticket")
def reprioritise(request: TandemRequest, ticket_id: Id, payload: PriorityIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    services.reprioritise_ticket(actor=principal, ticket=ticket, **payload.model_dump())
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/handoff", response=TicketView)
@declare_action("servicedesk.handoff_ticket")
def handoff(request: TandemRequest, ticket_id: Id, payload: HandoffIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    # Only parties the caller sees: one it may not see answers as one that does not exist
    # (the service's refusal would name it).
    party = queries.parties(principal, ticket.tenant_id).filter(pk=payload.to_party_id).first()
    if party is None:
        raise InvalidInput({"to_party_id": [NO_SUCH_PARTY]})
    services.handoff_ticket(actor=principal, ticket=ticket, to_party=party, reason=payload.reason)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/assign", response=TicketView)
@declare_action("servicedesk.change_ticket")
def assign(request: TandemRequest, ticket_id: Id, payload: AssignIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            # The same words as for a real person who may not take it (``assign_ticket``).
            raise InvalidInput({"assignee_id": [services.NOT_ASSIGNABLE]})
    services.assign_ticket(actor=principal, ticket=ticket, assignee=assignee)
    return queries.ticket(principal, ticket_id)


@router.get("/tickets/{ticket_id}/comments", response=list[CommentView])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_comments(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    return queries.comments(principal, queries.ticket(principal, ticket_id))


@router.post("/tickets/{ticket_id}/comments", response={201: CommentView})
@declare_action("servicedesk.comment_ticket")
def add_comment(request: TandemRequest, ticket_id: Id, payload: CommentIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    comment = notes.add_comment(
        actor=principal,
        ticket=ticket,
        body=payload.body,
        visibility=payload.visibility,
        via="api",
    )
    return 201, comment


@router.get("/tickets/{ticket_id}/events", response=list[EventOut])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_events(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """The ticket's history (holders, routing and handoff reasons): IT people only."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    if not queries.is_it_in(principal, ticket.tenant_id):
        raise PermissionDenied("the history is for IT people")
    return ticket.events.all()


@router.post("/tickets/{ticket_id}/time", response={201: TimeOut})
@declare_action("servicedesk.log_time_on_ticket")
def log_time(request: TandemRequest, ticket_id: Id, payload: TimeIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    return 201, notes.log_time(actor=principal, ticket=ticket, **payload.model_dump())


@router.get("/tickets/{ticket_id}/time", response=list[TimeOut])
@paginate(Pagination)
@declare_action("servicedesk.log_time_on_ticket")
def list_time(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Time entries: the tenant's IT sees all of them, a provider its own party's (the
    ticket page's rule, ``queries.time_entries``)."""
    principal = request.principal
    return queries.time_entries(principal, queries.ticket(principal, ticket_id))


def _other_ticket(request: TandemRequest, ticket_id: int, field: str) -> Ticket:
    """A second ticket named in the body: out of reach reads as bad input, not 404."""
    try:
        return queries.ticket(request.principal, ticket_id)
    except Http404 as exc:
        raise InvalidInput({field: ["No such ticket."]}) from exc


@router.get("/tickets/{ticket_id}/attachments", response=list[AttachmentView])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_attachments(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """The ticket's files in the tiers the caller may read."""
    principal = request.principal
    return queries.attachments(principal, queries.ticket(principal, ticket_id)).order_by("id")


@router.post("/tickets/{ticket_id}/attachments", response={201: AttachmentView})
@declare_action("servicedesk.comment_ticket")
def upload_file(  # type: ignore[no-untyped-def]
    request: TandemRequest,
    ticket_id: Id,
    file: File[UploadedFile],
    visibility: Form[str] = "shared",
):
    """Attach one file (multipart). Programs and scripts, empty files and files over the
    size limit are refused; requesters attach public files only."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    return 201, upload_attachment(
        actor=principal, ticket=ticket, upload=file, visibility=visibility
    )


@router.get("/attachments/{attachment_id}/download", response={200: None})
@declare_action("servicedesk.view_ticket")
def download_file(request: TandemRequest, attachment_id: Id):  # type: ignore[no-untyped-def]
    """The file's bytes, as a download; 404 unless the caller may read its tier."""
    return file_response(readable_attachment(request.principal, attachment_id))


@router.post("/tickets/{ticket_id}/merge", response=TicketView)
@declare_action("servicedesk.change_ticket")
def merge(request: TandemRequest, ticket_id: Id, payload: MergeIn):  # type: ignore[no-untyped-def]
    """Merge this ticket into another of the same tenant; it is closed and points there."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    into = _other_ticket(request, payload.into_id, "into_id")
    links.merge_ticket(actor=principal, ticket=ticket, into=into)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/parent", response=TicketView)
@declare_action("servicedesk.change_ticket")
def set_parent(request: TandemRequest, ticket_id: Id, payload: ParentIn):  # type: ignore[no-untyped-def]
    """Make the ticket a child of another (``parent_id``), or of none (null)."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    parent = (
        None
        if payload.parent_id is None
        else _other_ticket(request, payload.parent_id, "parent_id")
    )
    links.link_parent(actor=principal, ticket=ticket, parent=parent)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/tags", response=TicketView)
@declare_action("servicedesk.change_ticket")
def set_tags(request: TandemRequest, ticket_id: Id, payload: TagsIn):  # type: ignore[no-untyped-def]
    """Replace the ticket's tags (lower-cased, at most 20)."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    links.set_tags(actor=principal, ticket=ticket, tags=payload.tags)
    return queries.ticket(principal, ticket_id)


# --- Devices (decision 0026) -------------------------------------------------------------------


@router.get("/tickets/{ticket_id}/devices", response=list[TicketDeviceOut])
@declare_action("servicedesk.view_ticket")
def list_ticket_devices(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """The devices the ticket names that the caller may see (a requester: none)."""
    principal = request.principal
    return list(queries.ticket_devices(principal, queries.ticket(principal, ticket_id)))


@router.put("/tickets/{ticket_id}/devices", response=list[TicketDeviceOut])
@declare_action("servicedesk.change_ticket")
def set_ticket_devices(request: TandemRequest, ticket_id: Id, payload: TicketDevicesIn):  # type: ignore[no-untyped-def]
    """Make the devices the caller sees on this ticket exactly ``device_ids`` (links to
    devices it cannot see stay). 409 when nothing would change."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    device_services.set_ticket_devices(
        actor=principal, ticket=ticket, device_ids=payload.device_ids
    )
    return list(queries.ticket_devices(principal, ticket))


@router.get("/devices/{device_id}/tickets", response=list[DeviceTicketOut])
@paginate(CappedLimitOffsetPagination)
@declare_action("assets.view_device")
def list_device_tickets(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The tickets naming the device that the caller may see, newest first."""
    principal = request.principal
    return queries.device_tickets(principal, device_queries.device(principal, device_id))


@router.post("/tickets/{ticket_id}/watch", response=WatchOut)
@declare_action("servicedesk.view_ticket")
def watch(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Follow the ticket yourself."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    links.watch_ticket(actor=principal, ticket=ticket)
    return {"ticket_id": ticket.pk, "watching": True}


@router.post("/tickets/{ticket_id}/unwatch", response=WatchOut)
@declare_action("servicedesk.view_ticket")
def unwatch(request: TandemRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Stop following the ticket."""
    principal = request.principal
    ticket = queries.ticket(principal, ticket_id)
    links.unwatch_ticket(actor=principal, ticket=ticket)
    return {"ticket_id": ticket.pk, "watching": False}

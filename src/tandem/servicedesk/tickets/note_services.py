"""Writes of what is said and done on a ticket: notes, files, time entries, and the
requester's own close and rating. Keyword-only, actor first, one transaction, audited."""

from __future__ import annotations

import datetime as dt

from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_text
from tandem.servicedesk import events as desk_events
from tandem.servicedesk.choices import (
    EventKind,
    StatusKind,
    Via,
    Visibility,
)
from tandem.servicedesk.config.queries import status_kinds
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.mail import parsing as mail_parsing
from tandem.servicedesk.policies import may_write_internal_notes
from tandem.servicedesk.sla_bridge import recompute_sla
from tandem.servicedesk.tickets.models import (
    Attachment,
    Comment,
    Ticket,
    TimeEntry,
)
from tandem.servicedesk.tickets.services import (
    MAX_COMMENT,
    _answer_done_ticket,
    _event,
    _in_tenant,
    writing_party,
)
from tandem.tenancy.models import ServiceArea


def add_comment(
    *,
    actor: Principal,
    ticket: Ticket,
    body: str,
    visibility: str = Visibility.SHARED,
    via: str = Via.WEB,
    message_id: str = "",
    now: dt.datetime | None = None,
) -> Comment:
    """Add a note in one of the three tiers. A public note from IT is a response to the
    requester (it stops the first-response clock); requesters write public notes only."""
    authorize(actor, "servicedesk.comment_ticket", ticket)
    now = now or timezone.now()
    body = clean_text(body, field="body", max_length=MAX_COMMENT)
    require(bool(body), "body", "Write something.")
    require(visibility in Visibility.values, "visibility", "Use private, shared or public.")
    it_author = may_write_internal_notes(actor, ticket.tenant_id)
    if not it_author:
        require(visibility == Visibility.PUBLIC, "visibility", "Requesters write public replies.")
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        if not it_author and ticket.resolved_at is not None:
            # An answer to a done ticket is not lost in a closed thread: the ticket opens
            # again, or a follow-up does, and the comment lands there.
            ticket, _follow_up = _answer_done_ticket(actor, ticket, now)
        party_id = writing_party(actor, ticket)
        comment = Comment.objects.create(
            tenant_id=ticket.tenant_id,
            created_at=now,
            ticket=ticket,
            author_id=actor.user_id,
            author_label=actor.label[:200],
            party_id=party_id,
            visibility=visibility,
            body=body,
            via=via,
            message_id=message_id[:250],
        )
        if visibility == Visibility.PUBLIC and it_author:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                ticket.save(update_fields=["first_responded_at", "updated_at"])
            # A response counts on the clocks of the party that holds the ticket, and only
            # when that party answers: another party's reply does not meet its targets.
            if party_id == ticket.party_id:
                _event(ticket, EventKind.RESPONDED, actor, now)
                recompute_sla(ticket, now=now)
        desk_events.note_added(comment, public_reply=visibility == Visibility.PUBLIC and it_author)
        record_audit(
            actor=actor,
            action="servicedesk.add_comment",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"comment_id": [None, comment.pk], "visibility": [None, visibility]},
        )
    return comment


def log_time(
    *,
    actor: Principal,
    ticket: Ticket,
    minutes: int,
    work_date: dt.date | None = None,
    service_area_id: int | None = None,
    billable: bool = True,
    note: str = "",
) -> TimeEntry:
    """Record time spent on a ticket, for the author's party in this tenant."""
    authorize(actor, "servicedesk.log_time_on_ticket", ticket)
    require(0 < minutes <= 24 * 60, "minutes", "Between 1 and 1440 minutes.")
    work_date = work_date or timezone.localdate()
    require(work_date <= timezone.localdate(), "work_date", "Time cannot be logged in the future.")
    party_id = writing_party(actor, ticket)
    if party_id is None:
        raise InvalidInput({"ticket": ["Only IT people log time."]})
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        area_id = service_area_id or ticket.service_area_id
        require(area_id is not None, "service_area_id", "Name the service area.")
        area = _in_tenant(ServiceArea, ticket.tenant_id, area_id, "service_area_id")
        entry = TimeEntry.objects.create(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            user_id=actor.user_id or 0,
            party_id=party_id,
            service_area=area,
            work_date=work_date,
            minutes=minutes,
            billable=billable,
            note=clean_text(note, field="note", max_length=500),
        )
        record_audit(
            actor=actor,
            action="servicedesk.log_time",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff({}, {"minutes": minutes, "billable": billable, "work_date": work_date}),
        )
    return entry


# --- Files and e-mail --------------------------------------------------------------------------


def attach_file(
    *,
    actor: Principal,
    ticket: Ticket,
    filename: str,
    content_type: str,
    content: bytes,
    visibility: str = Visibility.SHARED,
    comment: Comment | None = None,
) -> Attachment:
    """Keep a file on a ticket in one tier (optionally on one of its notes). Programs and
    scripts, empty files and files over the size limit are refused; requesters attach
    public files only."""

    authorize(actor, "servicedesk.comment_ticket", ticket)
    filename = mail_parsing.safe_filename(filename, content_type, 1)
    content_type = (content_type or "application/octet-stream").strip().lower()[:100]
    refusal = mail_parsing.attachment_refusal(
        filename, content_type, content, max_bytes=django_settings.MAIL_MAX_ATTACHMENT_BYTES
    )
    require(refusal is None, "file", f"{filename}: {refusal}.")
    require(visibility in Visibility.values, "visibility", "Use private, shared or public.")
    require(comment is None or comment.ticket_id == ticket.pk, "comment_id", "Not on this ticket.")
    it_author = may_write_internal_notes(actor, ticket.tenant_id)
    if not it_author:
        require(visibility == Visibility.PUBLIC, "visibility", "Requesters attach public files.")
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        party_id = writing_party(actor, ticket)
        attachment = Attachment(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            comment=comment,
            filename=filename,
            content_type=content_type,
            size=len(content),
            visibility=visibility,
            party_id=party_id,
            uploaded_by_id=actor.user_id,
        )
        attachment.file.save(filename, ContentFile(content), save=False)
        attachment.save()
        record_audit(
            actor=actor,
            action="servicedesk.attach_file",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff(
                {},
                {
                    "attachment_id": attachment.pk,
                    "filename": filename,
                    "size": len(content),
                    "visibility": visibility,
                },
            ),
        )
    return attachment


# --- The requester portal ---------------------------------------------------------------------

MAX_RATING_COMMENT = 2_000


def _require_requester(actor: Principal, ticket: Ticket, what: str) -> None:
    """The actor sees the ticket and is the person who opened it (else 403)."""

    authorize(actor, "servicedesk.view_ticket", ticket)
    if actor.user_id is None or actor.user_id != ticket.requester_id:
        raise PermissionDenied(f"Only the person who opened the ticket can {what}.")


def close_ticket_by_requester(
    *, actor: Principal, ticket: Ticket, now: dt.datetime | None = None
) -> Ticket:
    """The requester closes their own ticket (open or resolved): it moves to the tenant's
    closed status. Requesters may not change tickets otherwise, so this is its own
    transition (not ``change_status``), with its own event and audit entry."""
    _require_requester(actor, ticket, "close it")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        statuses = desk_settings(ticket.tenant_id).statuses
        kinds = {key: kind for key, _name, kind in statuses}
        closed = next((key for key, _name, kind in statuses if kind == StatusKind.CLOSED), None)
        if closed is None:
            raise Conflict("This desk has no closed status; ask IT to close the ticket.")
        if kinds.get(ticket.status) == StatusKind.CLOSED:
            raise Conflict("The ticket is closed already.")
        before = ticket.status
        kind: str = EventKind.STATUS
        if kinds.get(before) != StatusKind.RESOLVED:
            # Closed without a resolution by IT: the resolution clock stops here.
            kind = EventKind.RESOLVED
            ticket.resolved_at = now
        ticket.status = closed
        ticket.closed_at = now
        ticket.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
        _event(ticket, kind, actor, now, reason="Closed by the requester")
        recompute_sla(ticket, now=now)
        record_audit(
            actor=actor,
            action="servicedesk.close_ticket_by_requester",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"status": [before, closed]},
        )
    return ticket


def rate_ticket(*, actor: Principal, ticket: Ticket, score: int, comment: str = "") -> Ticket:
    """The requester rates the resolution of their own ticket, 1 to 5 stars with an optional
    comment: once, and only after the ticket is resolved or closed."""
    _require_requester(actor, ticket, "rate it")
    require(isinstance(score, int) and 1 <= score <= 5, "score", "Choose 1 to 5 stars.")
    comment = clean_text(comment, field="comment", max_length=MAX_RATING_COMMENT)
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        kinds = status_kinds(desk_settings(ticket.tenant_id))
        if kinds.get(ticket.status) not in (StatusKind.RESOLVED, StatusKind.CLOSED):
            raise Conflict("You can rate the ticket once it is resolved.")
        if ticket.satisfaction is not None:
            raise Conflict("You have rated this ticket already; a rating cannot be changed.")
        ticket.satisfaction = score
        ticket.satisfaction_comment = comment
        ticket.save(update_fields=["satisfaction", "satisfaction_comment", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.rate_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff({}, {"satisfaction": score, "satisfaction_comment": comment}),
        )
    return ticket


def add_comment_with_file(
    *,
    actor: Principal,
    ticket: Ticket,
    body: str,
    filename: str,
    content_type: str,
    content: bytes,
    visibility: str = Visibility.SHARED,
    via: str = Via.WEB,
) -> Comment:
    """A note with one file on it (the portal's reply with an attachment): both or neither.
    A refused file (its type, its size) leaves no note behind, so the author can fix it and
    send the same text again; each part is authorised and audited by its own service."""
    with transaction.atomic():
        comment = add_comment(actor=actor, ticket=ticket, body=body, visibility=visibility, via=via)
        attach_file(
            actor=actor,
            ticket=ticket,
            filename=filename,
            content_type=content_type,
            content=content,
            visibility=visibility,
            comment=comment,
        )
    return comment

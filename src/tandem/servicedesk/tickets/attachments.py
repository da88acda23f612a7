"""Files on a ticket: who may read one, how it is served, how an upload is refused."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404

from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal
from tandem.servicedesk.tickets import note_services as notes
from tandem.servicedesk.tickets import queries
from tandem.servicedesk.tickets.models import Attachment

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
    ``notes.attach_file``, which applies the type rules and the audit."""
    refuse_oversized(upload)
    return notes.attach_file(
        actor=actor,
        ticket=ticket,
        filename=upload.name or "",
        content_type=upload.content_type or "application/octet-stream",
        content=upload.read(),
        visibility=visibility,
    )

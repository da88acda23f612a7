"""Service-desk pages for ticket extras: download a file, upload one from the ticket page.

Files are never served from a public media URL: every download passes here, looks the
ticket up through its policy and the file through the note tiers, and answers 404 to anyone
who may not read that tier.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tandem.core import policies
from tandem.core.actions import page
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.principal import Principal
from tandem.servicedesk import queries, services
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.models import Attachment

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


def upload_attachment(*, actor: Principal, ticket, upload, visibility: str) -> Attachment:  # type: ignore[no-untyped-def]
    """Read an upload (refusing an oversized one before reading it) and keep it through
    ``services.attach_file``, which applies the type rules and the audit."""
    from django.conf import settings

    limit = settings.MAIL_MAX_ATTACHMENT_BYTES
    if upload.size is not None and upload.size > limit:
        name = upload.name or "The file"
        raise InvalidInput({"file": [f"{name}: larger than {limit // (1024 * 1024)} MB."]})
    return services.attach_file(
        actor=actor,
        ticket=ticket,
        filename=upload.name or "",
        content_type=upload.content_type or "application/octet-stream",
        content=upload.read(),
        visibility=visibility,
    )

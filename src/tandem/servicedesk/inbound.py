"""Mail into the desk: the SMTP listener, keeping what it accepts, and processing it.

1. ``tandem mail-listen`` runs :func:`listener`, an SMTP server (aiosmtpd). It refuses
   recipients that are not desk addresses (550) and messages over the size limit (552).
   Every accepted message is written raw to an :class:`InboundMessage` and committed
   *before* the server answers 250 (:func:`receive_message`); if that fails the answer is
   451 and the sender's server tries again. Nothing accepted is lost.
2. After commit, :func:`process_inbound_message` runs in a worker
   (``process_inbound_message_task``). It reads the message (``mail.parse_message``),
   ignores automatic mail, finds the tenant by the recipient address and the sender among
   the tenant's members, then threads the mail onto a ticket (reply address
   ``acme+42@…``, In-Reply-To/References of our notifications, ``[acme#42]`` in the subject)
   or opens a new one, through the desk's services and as the sender's principal. The
   message ends ``processed``, ``ignored`` (with the reason) or ``failed`` (with the
   error), and is kept either way.

See docs/decisions/0006-email.md for why it is a listener and not IMAP polling.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, transaction
from django.utils import timezone

from tandem.accounts.models import User
from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope, system_context, within_tenant
from tandem.servicedesk import mail, notifications, services
from tandem.servicedesk.choices import InboundStatus, TicketSource, Via, Visibility
from tandem.servicedesk.models import Comment, InboundMessage, OutboundMessage, Ticket
from tandem.servicedesk.policies import may_write_internal_notes
from tandem.tenancy.models import Tenant

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

#: Recipients one message may name (RCPT TO); more are refused with 452.
MAX_RECIPIENTS = 20


class _Ignored(Exception):
    """The message is deliberately not acted on; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Keeping what the listener accepts ---------------------------------------------------------


def receive_message(
    *, envelope_from: str, recipients: Sequence[str], raw: bytes, peer: str = ""
) -> InboundMessage:
    """Keep one accepted message, raw, and queue its processing once that is committed.
    The listener answers 250 only after this returns."""
    with transaction.atomic(), system_context("keep an accepted e-mail"):
        message = InboundMessage.objects.create(
            envelope_from=envelope_from[:320],
            envelope_to=[r[:320] for r in recipients][:MAX_RECIPIENTS],
            peer=peer[:100],
            raw=raw,
            size=len(raw),
        )
        transaction.on_commit(functools.partial(_enqueue_processing, message.pk), robust=True)
    return message


def _enqueue_processing(message_id: int) -> None:
    from tandem.servicedesk.tasks import process_inbound_message_task

    process_inbound_message_task.enqueue(message_id)


def requeue_pending() -> int:
    """Queue processing again for every message still pending (say the listener stopped
    between committing a message and queueing its task). Processing is idempotent, so a
    message queued twice is processed once."""
    with system_context("requeue pending inbound mail"):
        pending = list(
            InboundMessage.objects.filter(status=InboundStatus.PENDING)
            .order_by("received_at", "id")
            .values_list("pk", flat=True)
        )
    for message_id in pending:
        _enqueue_processing(message_id)
    return len(pending)


# --- Processing --------------------------------------------------------------------------------


def process_inbound_message(
    *, message_id: int, now: dt.datetime | None = None
) -> InboundMessage | None:
    """Open a ticket or add a note from one kept message, or record why not. Idempotent:
    the message row is locked and only a pending message is processed.

    The ticket's history (and so its SLA clocks) starts when the mail was received, not when
    a worker got round to it; ``now`` overrides that for tests."""
    processed_at = timezone.now()
    facts: dict[str, Any] = {}
    try:
        with transaction.atomic(), system_context("process inbound mail"):
            message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
            if message is None or message.status != InboundStatus.PENDING:
                return message
            ticket, comment = _act_on(message, facts, now or message.received_at)
            _finish(
                message,
                InboundStatus.PROCESSED,
                "",
                processed_at,
                ticket=ticket,
                comment=comment,
                **facts,
            )
            return message
    except _Ignored as exc:
        status, reason = InboundStatus.IGNORED, exc.reason
    except mail.UnparseableMail as exc:
        status, reason = InboundStatus.FAILED, str(exc)
    except InvalidInput as exc:
        status, reason = InboundStatus.FAILED, f"refused by the desk: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - whatever it is, the message is kept for review
        log.exception("inbound mail %s could not be processed", message_id)
        status, reason = InboundStatus.FAILED, f"{type(exc).__name__}: {exc}"
    with transaction.atomic(), system_context("record inbound mail outcome"):
        message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != InboundStatus.PENDING:
            return message
        _finish(message, status, reason, processed_at, **facts)
    return message


def _finish(
    message: InboundMessage,
    status: str,
    reason: str,
    processed_at: dt.datetime,
    *,
    ticket: Ticket | None = None,
    comment: Comment | None = None,
    **facts: Any,
) -> None:
    fields = {
        "status": status,
        "reason": reason[:5000],
        "processed_at": processed_at,
        "ticket": ticket,
        "comment": comment,
        **facts,
    }
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=[*fields, "updated_at"])


def _act_on(
    message: InboundMessage, facts: dict[str, Any], now: dt.datetime
) -> tuple[Ticket, Comment | None]:
    domain = settings.MAIL_DOMAIN
    # The tenant comes from the SMTP envelope, before the message is read: mail that cannot
    # be read or an auto-reply is then kept under the desk it was sent to, and that
    # tenant's owners find it on their mail review page.
    address = next(
        (a for a in (mail.parse_desk_address(r, domain) for r in message.envelope_to) if a), None
    )
    tenant = None
    if address is not None:
        tenant = Tenant.objects.filter(slug=address.tenant_slug, is_active=True).first()
        if tenant is not None:
            facts["tenant_id"] = tenant.pk
    parsed = mail.parse_message(bytes(message.raw), envelope_from=message.envelope_from)
    facts.update(
        from_address=parsed.from_address[:320],
        subject=parsed.subject[:250],
        message_id=parsed.message_id[:250],
    )
    _name, own_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if parsed.from_address.endswith(f"@{domain}") or parsed.from_address == own_address.lower():
        # Tandem's own mail may be another tenant's notification (forwarded to this desk by
        # mistake): it stays with no tenant, for the operator (``tandem mail-unrouted``).
        facts.pop("tenant_id", None)
        raise _Ignored(f"mail loop: sent from Tandem's own address {parsed.from_address}")
    if parsed.auto_reason:
        raise _Ignored(parsed.auto_reason)
    if parsed.auth_failure:
        raise _Ignored(parsed.auth_failure)
    if address is None:
        raise _Ignored(f"not addressed to a service desk at {domain}")
    if tenant is None:
        raise _Ignored(f"there is no service desk {address.tenant_slug!r} at {domain}")
    if parsed.message_id:
        earlier = (
            InboundMessage.objects.filter(
                tenant=tenant, message_id=parsed.message_id, from_address=parsed.from_address
            )
            .exclude(pk=message.pk)
            .exclude(status=InboundStatus.PENDING)
            .first()
        )
        if earlier is not None:
            raise _Ignored(
                f"the same message (Message-ID) arrived before as inbound mail {earlier.pk}"
            )
    user = User.objects.filter(email__iexact=parsed.from_address, is_active=True).first()
    principal = _principal(user)
    if user is None or principal is None or not principal.accesses_in(tenant.pk):
        raise _Ignored(
            f"unknown sender: {parsed.from_address} is not a member of {tenant.name} "
            "(mail from unknown senders opens no tickets)"
        )
    with principal_scope(principal):
        ticket = _thread_target(tenant, address, parsed)
        if ticket is not None:
            return ticket, _reply(principal, ticket, parsed, message, now)
        return _open_ticket(principal, user, tenant, parsed, message, now), None


def _principal(user: User | None) -> Principal | None:
    if user is None:
        return None
    from tandem.accounts.principals import resolve_principal

    return resolve_principal(user)


def _thread_target(
    tenant: Tenant, address: mail.DeskAddress, parsed: mail.ParsedMail
) -> Ticket | None:
    """The ticket a message answers: by reply address, then by the Message-IDs it answers
    (our notifications, notes that came by mail, the mail that opened a ticket), then by
    ``[acme#42]`` in the subject. A merged ticket leads to the one it was merged into."""
    with within_tenant(tenant.pk):
        tickets = Ticket.objects.filter(tenant=tenant)
        ticket = None
        if address.ticket_number is not None:
            ticket = tickets.filter(number=address.ticket_number).first()
        answered = list(parsed.replied_to[:50])
        if ticket is None and answered:
            for source in (
                OutboundMessage.objects.filter(tenant=tenant, message_id__in=answered),
                Comment.objects.filter(tenant=tenant, message_id__in=answered),
                InboundMessage.objects.filter(
                    tenant=tenant, message_id__in=answered, ticket__isnull=False
                ),
            ):
                found = source.select_related("ticket").order_by("-id").first()
                if found is not None and found.ticket is not None:
                    ticket = found.ticket
                    break
        if ticket is None:
            number = mail.subject_reference(parsed.subject, tenant.slug)
            if number is not None:
                ticket = tickets.filter(number=number).first()
        hops = 0
        while ticket is not None and ticket.merged_into_id is not None and hops < 10:
            ticket, hops = ticket.merged_into, hops + 1
        return ticket


def _screen(
    attachments: Sequence[mail.MailAttachment],
) -> tuple[list[mail.MailAttachment], list[str]]:
    """Split attachments into those kept and notes on those refused (never dropped
    silently: the note goes into the ticket text)."""
    accepted: list[mail.MailAttachment] = []
    refused: list[str] = []
    for index, attachment in enumerate(attachments):
        reason: str | None
        if index >= mail.MAX_ATTACHMENTS:
            reason = f"more than {mail.MAX_ATTACHMENTS} attachments in one message"
        else:
            reason = mail.attachment_refusal(
                attachment.filename,
                attachment.content_type,
                attachment.content,
                max_bytes=settings.MAIL_MAX_ATTACHMENT_BYTES,
            )
        if reason is None:
            accepted.append(attachment)
        else:
            refused.append(f"Attachment refused: {attachment.filename} ({reason}).")
    return accepted, refused


def _with_notes(text: str, notes: list[str], limit: int, message_id: int) -> str:
    tail = "\n".join(notes)
    room = limit - len(tail) - 200
    if len(text) > room:
        text = text[: max(room, 0)].rstrip() + (
            f"\n\n[The message was cut here; all of it is kept as inbound mail {message_id}.]"
        )
    return f"{text}\n\n{tail}".strip() if tail else text


def _reply(
    principal: Principal,
    ticket: Ticket,
    parsed: mail.ParsedMail,
    message: InboundMessage,
    now: dt.datetime,
) -> Comment:
    # A requester's answer is public (it is the conversation with IT); an IT person's mail
    # is an IT-shared note, because the desk's default tier is never public.
    it_author = may_write_internal_notes(principal, ticket.tenant_id)
    visibility = Visibility.SHARED if it_author else Visibility.PUBLIC
    accepted, refused = _screen(parsed.attachments)
    body = mail.trim_quoted_reply(parsed.text) if parsed.text else ""
    if not body and accepted:
        body = "Sent " + ", ".join(a.filename for a in accepted) + "."
    body = _with_notes(body, refused, services.MAX_COMMENT, message.pk)
    if not body:
        raise _Ignored("the reply is empty")
    reference = mail.ticket_reference(ticket.tenant.slug, ticket.number)
    try:
        comment = services.add_comment(
            actor=principal,
            ticket=ticket,
            body=body,
            visibility=visibility,
            via=Via.EMAIL,
            message_id=parsed.message_id,
            now=now,
        )
    except PermissionDenied as exc:
        raise _Ignored(f"{parsed.from_address} may not add notes to {reference}") from exc
    for attachment in accepted:
        services.attach_file(
            actor=principal,
            ticket=ticket,
            comment=comment,
            filename=attachment.filename,
            content_type=attachment.content_type,
            content=attachment.content,
            visibility=visibility,
        )
    return comment


def _open_ticket(
    principal: Principal,
    user: User,
    tenant: Tenant,
    parsed: mail.ParsedMail,
    message: InboundMessage,
    now: dt.datetime,
) -> Ticket:
    limit = settings.MAIL_NEW_TICKETS_PER_HOUR
    with within_tenant(tenant.pk):
        recent = Ticket.objects.filter(
            tenant=tenant,
            requester=user,
            via=Via.EMAIL,
            created_at__gte=timezone.now() - dt.timedelta(hours=1),
        ).count()
    if recent >= limit:
        raise _Ignored(
            f"rate limit: {user.email} opened {recent} tickets by e-mail in the last hour "
            f"(at most {limit}); this message opened none"
        )
    accepted, refused = _screen(parsed.attachments)
    try:
        ticket = services.create_ticket(
            actor=principal,
            tenant=tenant,
            requester=user,
            subject=mail.clean_line(parsed.subject, 200) or "(no subject)",
            description=_with_notes(parsed.text, refused, services.MAX_DESCRIPTION, message.pk),
            via=Via.EMAIL,
            source=TicketSource.EMAIL,
            now=now,
        )
    except PermissionDenied as exc:
        raise _Ignored(f"{user.email} may not open tickets in {tenant.name}") from exc
    for attachment in accepted:
        services.attach_file(
            actor=principal,
            ticket=ticket,
            filename=attachment.filename,
            content_type=attachment.content_type,
            content=attachment.content,
            visibility=Visibility.PUBLIC,
        )
    with within_tenant(tenant.pk):
        notifications.ticket_opened_by_mail(ticket)
    return ticket


# --- The SMTP listener -------------------------------------------------------------------------


def keep_message(*, envelope_from: str, recipients: Sequence[str], raw: bytes, peer: str) -> int:
    """The listener's way to keep a message: :func:`receive_message` on a fresh or healthy
    database connection (the listener runs for weeks; connections go stale)."""
    close_old_connections()
    try:
        return receive_message(
            envelope_from=envelope_from, recipients=recipients, raw=raw, peer=peer
        ).pk
    finally:
        close_old_connections()


class DeskSMTPHandler:
    """The aiosmtpd handler: desk addresses only, and 250 only once the message is kept."""

    def __init__(self, *, domain: str, accept: Callable[..., int]) -> None:
        self.domain = domain
        self.accept = accept

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if mail.parse_desk_address(address, self.domain) is None:
            return (
                f"550 5.1.1 <{address}>: not a service desk address here "
                f"(use <tenant>@{self.domain})"
            )
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        try:
            kept = await sync_to_async(self.accept)(
                envelope_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                raw=bytes(raw),
                peer=str(peer),
            )
        except Exception:
            log.exception("could not keep a message from %s", envelope.mail_from)
            return "451 4.3.0 The message could not be stored; please try again later"
        return f"250 2.0.0 Accepted as inbound mail {kept}"


def listener(
    *,
    host: str,
    port: int,
    accept: Callable[..., int] | None = None,
    max_message_bytes: int | None = None,
) -> Controller:
    """An SMTP server for the desk (not started): ``.start()`` runs it in a thread,
    ``.stop()`` ends it. ``accept`` replaces :func:`keep_message` (tests share their
    database connection through it)."""
    from aiosmtpd.controller import Controller

    handler = DeskSMTPHandler(domain=settings.MAIL_DOMAIN, accept=accept or keep_message)
    return Controller(
        handler,
        hostname=host,
        port=port,
        server_hostname=settings.MAIL_DOMAIN,
        ident="Tandem service desk",
        data_size_limit=max_message_bytes or settings.MAIL_MAX_MESSAGE_BYTES,
    )

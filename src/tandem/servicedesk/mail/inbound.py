"""Mail into the desk: the SMTP listener, keeping what it accepts, and processing it.

1. ``tandem mail-listen`` runs :func:`listener`, an SMTP server (aiosmtpd). It refuses
   recipients that are not desk addresses (550) and messages over the size limit (552).
   Every accepted message is written raw to an :class:`InboundMessage` and committed
   *before* the server answers 250 (:func:`receive_message`); if that fails the answer is
   451 and the sender's server tries again. Nothing accepted is lost.
2. After commit, :func:`process_inbound_message` runs in a worker
   (``process_inbound_message_task``). It reads the message (``parsing.parse_message``),
   keeps automatic mail aside, finds the tenant by the recipient address and the sender
   among the tenant's members (or lets them in by the desk's sender policy, or as someone
   on the conversation), then threads the mail onto a ticket (reply address
   ``acme+42@…``, In-Reply-To/References of our notifications, ``[acme#42]`` in the
   subject) or opens a new one, through the desk's services. The message ends
   ``processed``, ``kept`` (with the reason) or ``failed`` (with the error), and is kept
   either way; whatever processing raises, it never stays ``pending``. Kept and failed
   mail is retried (:func:`retry_inbound_message`) or accepted
   (:func:`accept_inbound_message`) from the mail review, the API or the CLI.

See docs/decisions/0006-email.md for why it is a listener and not IMAP polling, and
0017-inbound-mail-outcomes.md for the outcomes, automatic mail and sender policy.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from tandem.accounts.models import Role, User
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import add_membership, create_user
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.policies import authorize
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import principal_scope, system_context, within_tenant
from tandem.servicedesk.choices import (
    InboundReason,
    InboundStatus,
    MailSenderPolicy,
    TicketSource,
    Via,
    Visibility,
)
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.mail import parsing, text
from tandem.servicedesk.mail.models import InboundMessage, OutboundMessage
from tandem.servicedesk.policies import REVIEW_MAIL, may_write_internal_notes
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Comment, Ticket
from tandem.tenancy.models import Tenant

log = logging.getLogger(__name__)

#: Recipients one message may name (RCPT TO); more are refused with 452.
MAX_RECIPIENTS = 20


class _Kept(Exception):
    """The message is deliberately not acted on: it is kept, with ``reason`` (for people)
    and ``code`` (an :class:`InboundReason`, for filters and actions)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


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

    No message stays pending because of what it contains: whatever processing raises, the
    work is rolled back and the message ends ``failed`` with the error (retryable from the
    mail review, the API or ``tandem mail-retry``). Recording that cannot fail because of
    the message either: if writing what was read from it fails, the outcome is written
    without it.

    The ticket's history (and so its SLA clocks) starts when the mail was received, not when
    a worker got round to it; ``now`` overrides that for tests."""
    processed_at = timezone.now()
    facts: dict[str, Any] = {}
    try:
        with transaction.atomic(), system_context("process inbound mail"):
            message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
            if message is None or message.status != InboundStatus.PENDING:
                return message
            ticket, comment, kept_files = _act_on(message, facts, now or message.received_at)
            facts["attachments_kept"] = kept_files
            note = facts.pop("reason", "")
            _finish(
                message,
                InboundStatus.PROCESSED,
                note,
                "",
                processed_at,
                ticket=ticket,
                comment=comment,
                **facts,
            )
            return message
    except _Kept as exc:
        status, reason, code = InboundStatus.KEPT, exc.reason, exc.code
    except parsing.UnparseableMail as exc:
        status, reason, code = InboundStatus.FAILED, str(exc), InboundReason.ERROR
    except InvalidInput as exc:
        status, reason = InboundStatus.FAILED, f"refused by the desk: {exc.message}"
        code = InboundReason.ERROR
    except Exception as exc:  # noqa: BLE001 - whatever it is, the message is kept for review
        log.exception("inbound mail %s could not be processed", message_id)
        status, reason = InboundStatus.FAILED, f"{type(exc).__name__}: {exc}"
        code = InboundReason.ERROR
    facts.pop("attachments_kept", None)
    facts.pop("reason", None)
    try:
        return _record_outcome(message_id, status, reason, code, processed_at, facts)
    except Exception as exc:  # noqa: BLE001 - e.g. a header the database will not store
        log.exception("inbound mail %s: its details could not be recorded", message_id)
        reason = f"{reason} (what was read from the message could not be recorded: "
        reason += f"{type(exc).__name__}: {exc})"
        # Only the tenant is kept: the message belongs on its desk's review page.
        bare = {"tenant_id": facts["tenant_id"]} if "tenant_id" in facts else {}
        return _record_outcome(message_id, InboundStatus.FAILED, reason, code, processed_at, bare)


# The task sits beside what queues it (as ``core.events.dispatch_events_task`` does): the
# desk's ``tasks`` module would import this one, which queues the task.
@task()
def process_inbound_message_task(message_id: int) -> str:
    """Turn one kept e-mail into a ticket or a note, or keep it as ignored or failed."""
    message = process_inbound_message(message_id=message_id)
    return message.status if message is not None else "missing"


def _record_outcome(
    message_id: int,
    status: str,
    reason: str,
    code: str,
    processed_at: dt.datetime,
    facts: dict[str, Any],
) -> InboundMessage | None:
    with transaction.atomic(), system_context("record inbound mail outcome"):
        message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != InboundStatus.PENDING:
            return message
        _finish(message, status, reason, code, processed_at, **facts)
    return message


def _storable(value: Any) -> Any:
    """Text from a message as the database takes it (no lone surrogates, no NUL)."""
    if isinstance(value, str):
        return text.unescape(value).replace("\x00", "")
    return value


def _finish(
    message: InboundMessage,
    status: str,
    reason: str,
    code: str,
    processed_at: dt.datetime,
    *,
    ticket: Ticket | None = None,
    comment: Comment | None = None,
    **facts: Any,
) -> None:
    fields = {
        "status": status,
        "reason": _storable(reason)[:5000],
        "reason_code": code,
        "processed_at": processed_at,
        "ticket": ticket,
        "comment": comment,
        "attempts": message.attempts + 1,
        **{name: _storable(value) for name, value in facts.items()},
    }
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=[*fields, "updated_at"])


def retry_inbound_message(*, actor: Principal, message: InboundMessage) -> InboundMessage:
    """Process a kept or failed message again (once the fault is fixed, or the desk's
    settings changed): it becomes pending and is processed once this commits. A processed
    message never runs twice; it already became a ticket or a note."""
    authorize(actor, REVIEW_MAIL, message)
    with transaction.atomic(), system_context("retry inbound mail"):
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status not in (InboundStatus.FAILED, InboundStatus.KEPT):
            raise Conflict(
                "Only a failed or kept message can be processed again; "
                f"this one is {locked.get_status_display().lower()}."
            )
        before = {"status": locked.status, "reason": locked.reason[:500]}
        locked.status, locked.reason, locked.reason_code = InboundStatus.PENDING, "", ""
        locked.save(update_fields=["status", "reason", "reason_code", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.retry_inbound_message",
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff(before, {"status": InboundStatus.PENDING, "reason": ""}),
        )
        transaction.on_commit(functools.partial(_enqueue_processing, locked.pk), robust=True)
    return locked


#: Kept mail a tenant owner may accept: a person decided it is real mail from a requester.
ACCEPTABLE = frozenset(
    {InboundReason.SENDER, InboundReason.AUTOMATIC, InboundReason.BOUNCE, InboundReason.BULK}
)


def accept_inbound_message(*, actor: Principal, message: InboundMessage) -> InboundMessage:
    """Accept a kept message from the mail review: its sender becomes a requester of the
    tenant (if not a member already) and the message is processed again as a person's
    mail, opening its ticket or adding its note, whatever automatic signs it carries or
    the sender policy says. For mail from a sender outside the policy, and for mail taken
    for automatic, bounce or list mail by mistake."""
    authorize(actor, REVIEW_MAIL, message)
    with transaction.atomic(), system_context("accept inbound mail"):
        # Only the message row is locked: its tenant is a nullable join, which PostgreSQL
        # will not lock ("FOR UPDATE cannot be applied to the nullable side").
        locked = (
            InboundMessage.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=message.pk)
        )
        if locked.status != InboundStatus.KEPT or locked.reason_code not in ACCEPTABLE:
            raise Conflict(
                "Only mail kept for its sender, or as automatic, bounce or list mail, can be "
                "accepted; use retry for the rest."
            )
        tenant = locked.tenant
        if tenant is None:
            raise Conflict("This message is for no tenant's desk.")
        parsed = _parse(locked)
        user = _find_sender(parsed.from_address)
        principal = _principal(user)
        if user is None or principal is None or not principal.accesses_in(tenant.pk):
            with within_tenant(tenant.pk):
                if user is None:
                    try:
                        user = create_user(
                            actor=actor,
                            email=parsed.from_address,
                            full_name=parsed.from_name or parsed.from_address.split("@")[0],
                        )
                    except InvalidInput as exc:
                        raise Conflict(
                            f"{parsed.from_address} cannot become a Tandem user: {exc.message}"
                        ) from exc
                add_membership(
                    actor=actor, user=user, role=Role.objects.get(key="requester"), tenant=tenant
                )
        before = {"status": locked.status, "reason": locked.reason[:500]}
        locked.status, locked.reason, locked.reason_code = InboundStatus.PENDING, "", ""
        locked.accepted = True
        locked.save(update_fields=["status", "reason", "reason_code", "accepted", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.accept_inbound_message",
            target=locked,
            tenant_id=tenant.pk,
            changes=diff(before, {"status": InboundStatus.PENDING, "reason": ""}),
        )
        transaction.on_commit(functools.partial(_enqueue_processing, locked.pk), robust=True)
    return locked


def failed_message_ids() -> list[int]:
    """Every failed message, oldest first (``tandem mail-retry --all-failed``)."""
    with system_context("operator: failed inbound mail"):
        return list(
            InboundMessage.objects.filter(status=InboundStatus.FAILED)
            .order_by("received_at", "id")
            .values_list("pk", flat=True)
        )


def inbound_message_for_operator(message_id: int) -> InboundMessage | None:
    """One kept message, any tenant, for the instance operator's command line."""
    with system_context("operator: one inbound mail"):
        return InboundMessage.objects.defer("raw").filter(pk=message_id).first()


def _act_on(
    message: InboundMessage, facts: dict[str, Any], now: dt.datetime
) -> tuple[Ticket, Comment | None, int]:
    domain = settings.MAIL_DOMAIN
    # The tenant comes from the SMTP envelope, before the message is read: mail that cannot
    # be read or an auto-reply is then kept under the desk it was sent to, and that
    # tenant's owners find it on their mail review page.
    address = next(
        (a for a in (parsing.parse_desk_address(r, domain) for r in message.envelope_to) if a), None
    )
    tenant = None
    if address is not None:
        tenant = Tenant.objects.filter(slug=address.tenant_slug, is_active=True).first()
        if tenant is not None:
            facts["tenant_id"] = tenant.pk
    parsed = _parse(message)
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
        raise _Kept(
            f"mail loop: sent from Tandem's own address {parsed.from_address}", InboundReason.LOOP
        )
    if parsed.auto_reason and not message.accepted:
        raise _Kept(parsed.auto_reason, parsed.auto_kind or InboundReason.AUTOMATIC)
    if parsed.auth_failure:
        raise _Kept(parsed.auth_failure, InboundReason.FORGED)
    if address is None:
        raise _Kept(f"not addressed to a service desk at {domain}", InboundReason.NO_DESK)
    if tenant is None:
        raise _Kept(
            f"there is no service desk {address.tenant_slug!r} at {domain}", InboundReason.NO_DESK
        )
    duplicate = _earlier_copy(message, tenant, parsed)
    if duplicate is not None and duplicate.ticket is not None:
        facts["reason"] = (
            f"the same message (Message-ID) arrived before as inbound mail {duplicate.pk}; "
            f"it is on {parsing.ticket_reference(tenant.slug, duplicate.ticket.number)}"
        )
        return duplicate.ticket, None, 0
    user = _find_sender(parsed.from_address)
    principal = _principal(user)
    if user is None or principal is None or not principal.accesses_in(tenant.pk):
        # Not a member. A reply from someone on the conversation threads on as theirs;
        # a new message opens a ticket if the desk's sender policy lets them in.
        ticket = _thread_target(tenant, address, parsed)
        if ticket is not None and _on_the_conversation(ticket, parsed.from_address):
            correspondent = user or _new_person(parsed, reason="a correspondent's reply")
            actor = _correspondent(correspondent, ticket)
            with principal_scope(actor):
                comment, kept_files = _reply(actor, ticket, parsed, message, now)
            return ticket, comment, kept_files
        policy = desk_settings(tenant.pk)
        if not _policy_admits(policy, parsed.from_address):
            raise _Kept(
                f"sender outside the desk's policy: {parsed.from_address} is not a member of "
                f"{tenant.name} ({policy.get_mail_sender_policy_display().lower()} may open "
                "tickets by mail); accept the sender on the mail review to open the ticket",
                InboundReason.SENDER,
            )
        user = _new_requester(user, parsed, tenant)
        principal = _principal(user)
        assert principal is not None
    with principal_scope(principal):
        ticket = _thread_target(tenant, address, parsed)
        if ticket is not None:
            comment, kept_files = _reply(principal, ticket, parsed, message, now)
            return ticket, comment, kept_files
        ticket, kept_files = _open_ticket(principal, user, tenant, parsed, message, now)
        return ticket, None, kept_files


def _policy_admits(policy: DeskSettings, address: str) -> bool:
    if policy.mail_sender_policy == MailSenderPolicy.ANYONE:
        return True
    if policy.mail_sender_policy == MailSenderPolicy.DOMAINS:
        return parsing.address_domain(address) in set(policy.mail_domains)
    return False


def _new_person(parsed: parsing.ParsedMail, *, reason: str) -> User:
    """A user for a sender Tandem does not know yet (no password: they sign in by link)."""
    try:
        return create_user(
            actor=system_principal(f"inbound mail: {reason}"),
            email=parsed.from_address,
            full_name=parsed.from_name or parsed.from_address.split("@")[0],
        )
    except InvalidInput as exc:
        # e.g. a non-ASCII local part (RFC 6531), which sign-in addresses cannot hold.
        raise _Kept(
            f"{parsed.from_address} cannot become a Tandem user: {exc.message}",
            InboundReason.SENDER,
        ) from exc


def _new_requester(user: User | None, parsed: parsing.ParsedMail, tenant: Tenant) -> User:
    """Make the sender a requester of the tenant (the sender policy let them in)."""
    user = user or _new_person(parsed, reason=f"first mail to {tenant.slug}'s desk")
    add_membership(
        actor=system_principal(f"inbound mail: the sender policy of {tenant.slug}'s desk"),
        user=user,
        role=Role.objects.get(key="requester"),
        tenant=tenant,
    )
    return user


def _on_the_conversation(ticket: Ticket, address: str) -> bool:
    """Whether ``address`` was on the To or Cc of mail that became this ticket or one of its
    notes, or watches the ticket."""
    with within_tenant(ticket.tenant_id):
        if ticket.watchers.filter(email__iexact=address).exists():
            return True
        earlier = InboundMessage.objects.filter(
            ticket=ticket, status=InboundStatus.PROCESSED
        ).order_by("id")[:50]
        for kept in earlier:
            try:
                if address in _parse(kept).recipients:
                    return True
            except parsing.UnparseableMail:
                continue
    return False


def _correspondent(user: User, ticket: Ticket) -> Principal:
    """Who writes a correspondent's reply: that person, with no access of their own (they
    are not a member); the note is public, as a requester's is."""
    return Principal(
        user_id=user.pk,
        label=user.email,
        system_reason=f"inbound mail: a reply from {user.email}, on the conversation of "
        f"ticket {ticket.pk}",
    )


def _parse(message: InboundMessage) -> parsing.ParsedMail:
    return parsing.parse_message(bytes(message.raw), envelope_from=message.envelope_from)


def _earlier_copy(
    message: InboundMessage, tenant: Tenant, parsed: parsing.ParsedMail
) -> InboundMessage | None:
    """An earlier copy of the same message (same Message-ID, sender and text) that became
    a ticket or a note: a resend, or the same mail to two desk addresses. The copy is
    linked to that ticket instead of opening a second one. A message that reuses a
    Message-ID with other text is not a copy; it threads onto that ticket as a note."""
    if not parsed.message_id:
        return None
    earlier = (
        InboundMessage.objects.filter(
            tenant=tenant,
            message_id=parsed.message_id,
            from_address=parsed.from_address,
            status=InboundStatus.PROCESSED,
            ticket__isnull=False,
        )
        .exclude(pk=message.pk)
        .select_related("ticket")
        .order_by("received_at", "id")
        .first()
    )
    if earlier is None:
        return None
    try:
        same = _parse(earlier).text == parsed.text
    except parsing.UnparseableMail:
        same = False
    return earlier if same else None


def _find_sender(address: str) -> User | None:
    """The active user with this address (RFC 6532: it may be non-ASCII)."""
    if "@" not in address:
        return None
    return User.objects.filter(email__iexact=address, is_active=True).first()


def _principal(user: User | None) -> Principal | None:
    if user is None:
        return None
    return resolve_principal(user)


def _thread_target(
    tenant: Tenant, address: parsing.DeskAddress, parsed: parsing.ParsedMail
) -> Ticket | None:
    """The ticket a message answers: by reply address, then by the Message-IDs it answers
    (our notifications, notes that came by mail, the mail that opened a ticket), then by
    ``[acme#42]`` in the subject. A merged ticket leads to the one it was merged into."""
    with within_tenant(tenant.pk):
        tickets = Ticket.objects.filter(tenant=tenant)
        ticket = None
        if address.ticket_number is not None:
            ticket = tickets.filter(number=address.ticket_number).first()
        # A later copy of a message that opened a ticket (its own Message-ID) threads too.
        answered = list(parsed.replied_to[:50]) + ([parsed.message_id] if parsed.message_id else [])
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
            number = parsing.subject_reference(parsed.subject, tenant.slug)
            if number is not None:
                ticket = tickets.filter(number=number).first()
        hops = 0
        while ticket is not None and ticket.merged_into_id is not None and hops < 10:
            ticket, hops = ticket.merged_into, hops + 1
        return ticket


def _screen(
    attachments: Sequence[parsing.MailAttachment],
) -> tuple[list[parsing.MailAttachment], list[str]]:
    """Split attachments into those kept and notes on those refused (never dropped
    silently: the note goes into the ticket text)."""
    accepted: list[parsing.MailAttachment] = []
    refused: list[str] = []
    # No count limit: the message as a whole is held to the size limit at SMTP level, so a
    # message with hundreds of files keeps them all.
    for attachment in attachments:
        reason = parsing.attachment_refusal(
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
    parsed: parsing.ParsedMail,
    message: InboundMessage,
    now: dt.datetime,
) -> tuple[Comment, int]:
    # A requester's answer is public (it is the conversation with IT); an IT person's mail
    # is an IT-shared note, because the desk's default tier is never public.
    it_author = may_write_internal_notes(principal, ticket.tenant_id)
    visibility = Visibility.SHARED if it_author else Visibility.PUBLIC
    accepted, refused = _screen(parsed.attachments)
    body = text.trim_quoted_reply(parsed.text) if parsed.text else ""
    if not body and accepted:
        body = "Sent " + ", ".join(a.filename for a in accepted) + "."
    body = _with_notes(body, refused, ticket_services.MAX_COMMENT, message.pk)
    if not body:
        raise _Kept("the reply is empty", InboundReason.EMPTY)
    reference = parsing.ticket_reference(ticket.tenant.slug, ticket.number)
    try:
        comment = ticket_notes.add_comment(
            actor=principal,
            ticket=ticket,
            body=body,
            visibility=visibility,
            via=Via.EMAIL,
            message_id=parsed.message_id,
            now=now,
        )
    except PermissionDenied as exc:
        raise _Kept(
            f"{parsed.from_address} may not add notes to {reference}", InboundReason.NOT_ALLOWED
        ) from exc
    for attachment in accepted:
        ticket_notes.attach_file(
            actor=principal,
            # The comment's own ticket: an answer to a long-closed ticket opened a follow-up.
            ticket=comment.ticket,
            comment=comment,
            filename=attachment.filename,
            content_type=attachment.content_type,
            content=attachment.content,
            visibility=visibility,
        )
    return comment, len(accepted)


def _open_ticket(
    principal: Principal,
    user: User,
    tenant: Tenant,
    parsed: parsing.ParsedMail,
    message: InboundMessage,
    now: dt.datetime,
) -> tuple[Ticket, int]:
    limit = settings.MAIL_NEW_TICKETS_PER_HOUR
    with within_tenant(tenant.pk):
        recent = Ticket.objects.filter(
            tenant=tenant,
            requester=user,
            via=Via.EMAIL,
            created_at__gte=timezone.now() - dt.timedelta(hours=1),
        ).count()
    if recent >= limit:
        raise _Kept(
            f"rate limit: {user.email} opened {recent} tickets by e-mail in the last hour "
            f"(at most {limit}); this message opened none",
            InboundReason.RATE_LIMIT,
        )
    accepted, refused = _screen(parsed.attachments)
    try:
        ticket = ticket_services.create_ticket(
            actor=principal,
            tenant=tenant,
            requester=user,
            subject=text.clean_line(parsed.subject, 200) or "(no subject)",
            description=_with_notes(
                parsed.text, refused, ticket_services.MAX_DESCRIPTION, message.pk
            ),
            via=Via.EMAIL,
            source=TicketSource.EMAIL,
            now=now,
        )
    except PermissionDenied as exc:
        raise _Kept(
            f"{user.email} may not open tickets in {tenant.name}", InboundReason.NOT_ALLOWED
        ) from exc
    for attachment in accepted:
        ticket_notes.attach_file(
            actor=principal,
            ticket=ticket,
            filename=attachment.filename,
            content_type=attachment.content_type,
            content=attachment.content,
            visibility=Visibility.PUBLIC,
        )
    # create_ticket acknowledged it to the requester (as for every channel).
    return ticket, len(accepted)

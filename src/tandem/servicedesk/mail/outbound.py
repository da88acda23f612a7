"""E-mail from the desk: which is due, its wording, and sending it.

The desk's services record what happened as domain events (``servicedesk.events``, decision
0022). A public note from
IT then makes one :class:`OutboundMessage` per requester due; a new ticket (however it was
opened) an acknowledgement to its requester, and a ticket IT resolves or closes a
resolution mail with the link to rate it (:func:`queue_requester_mail`, the desk's own
subscriber). An assignment, a handoff, a public reply and an SLA warning or breach make one
per IT person told about it (the notifications app's subscribers, which also keep the
event's reason in an ``EmailNotice``). Each subscriber writes its rows in the transaction
that marks it done on the outbox row, so the fact that a mail was due is never lost. Once
that transaction commits, a task sends it through Django's mail API (SMTP in production)
and records ``sent`` or ``failed`` with the error: a broken SMTP server never breaks the
write. A tenant's owner
sees what failed on the mail review page and can send it again
(:func:`retry_outbound_message`).

Every notification carries the reference ``[acme#42]`` in its subject, ``Reply-To:
acme+42@<domain>``, its own Message-ID (stored, so the answer's In-Reply-To finds the
ticket), ``X-Tandem-Loop`` and ``Auto-Submitted: auto-generated`` (so auto-responders stay
quiet, and our own mail coming back is recognised as a loop).

Wording comes from the tenant's :class:`MailTemplate` for the kind, else from the built-in
``servicedesk/mail/<kind>.subject.txt`` / ``.body.txt``. Templates use Django's syntax
without HTML escaping, over plain strings only, and a limited set of tags.

Mail to IT people (``IT_MAIL_KINDS``) is short on purpose: ticket number, subject, tenant,
priority, due time, the reason and a link. It never carries a note's text, whatever the
tenant's template asks for (``comment_body`` is empty for these kinds), so it cannot show a
recipient a tier their party may not read. When it goes out, the recipient must still see
the ticket; otherwise it is recorded as failed with that reason and not sent.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template import Context, Engine, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from tandem.accounts.models import User
from tandem.accounts.principals import resolve_principal
from tandem.audit.services import record_audit
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.servicedesk.choices import IT_MAIL_KINDS, MailKind, OutboundStatus
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.events import NoteAdded, TicketOpened, TicketResolved
from tandem.servicedesk.mail import parsing as mail_parsing
from tandem.servicedesk.mail import text as mail_text
from tandem.servicedesk.mail.models import MailTemplate, OutboundMessage
from tandem.servicedesk.policies import REVIEW_MAIL
from tandem.servicedesk.tickets.models import Comment, Ticket

log = logging.getLogger(__name__)

#: Tags a tenant's template may use: logic and formatting, nothing that reaches outside the
#: context (include, extends, load, debug, url, static, ...).
ALLOWED_TAGS = frozenset(
    {
        "if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith",
        "firstof", "comment", "endcomment", "spaceless", "endspaceless", "filter", "endfilter",
        "now", "templatetag", "verbatim", "endverbatim",
    }
)  # fmt: skip
_TAG = re.compile(r"{%-?\s*(\w+)")
#: What a template can use; every value is a plain string.
CONTEXT_NAMES = (
    "tenant_name",
    "ticket_reference",
    "ticket_number",
    "ticket_subject",
    "ticket_status",
    "requester_name",
    "author_name",
    "comment_body",
    "reply_address",
    "site_url",
    "portal_url",
    "rating_url",
)
#: What mail to IT people (``IT_MAIL_KINDS``) can use as well; empty in mail to requesters.
IT_CONTEXT_NAMES = (
    "recipient_name",
    "ticket_priority",
    "ticket_url",
    "reason",
    "due_at",
    "due_label",
    "preferences_url",
)


@functools.cache
def _engine() -> Engine:
    # Plain-text mail: no HTML escaping ("R&D" stays "R&D").
    return Engine(app_dirs=True, autoescape=False)


# --- Templates ---------------------------------------------------------------------------------


def validate_template(text: str, *, field: str) -> None:
    """Refuse template text that does not compile, uses a tag outside :data:`ALLOWED_TAGS`,
    or fails to render with sample values."""
    refused = sorted(set(_TAG.findall(text)) - ALLOWED_TAGS)
    if refused:
        raise InvalidInput(
            {field: [f"These tags are not allowed in e-mail: {', '.join(refused)}."]}
        )
    try:
        _engine().from_string(text).render(Context(_sample_context(), autoescape=False))
    except TemplateSyntaxError as exc:
        raise InvalidInput({field: [f"Template error: {exc}"]}) from exc
    except Exception as exc:  # noqa: BLE001 - a filter given a bad argument, for example
        raise InvalidInput({field: [f"The template fails to render: {exc}"]}) from exc


def _sample_context() -> dict[str, str]:
    names = CONTEXT_NAMES + IT_CONTEXT_NAMES
    return {name: name.replace("_", " ") for name in names} | {"ticket_number": "42"}


def render(tenant_id: int, kind: str, context: dict[str, str]) -> tuple[str, str]:
    """Subject (one line) and body for a notification, from the tenant's template or the
    built-in one. A tenant template that fails at render time falls back to the built-in
    wording rather than leaving the requester without mail."""
    engine = _engine()
    with system_context("read the tenant's mail template"):
        custom = MailTemplate.objects.filter(tenant_id=tenant_id, kind=kind).first()
    if custom is not None:
        try:
            return _render_pair(
                engine.from_string(custom.subject), engine.from_string(custom.body), context
            )
        except Exception:
            log.exception(
                "mail template %s of tenant %s fails; using the built-in one", kind, tenant_id
            )
    return _render_pair(
        engine.get_template(f"servicedesk/mail/{kind}.subject.txt"),
        engine.get_template(f"servicedesk/mail/{kind}.body.txt"),
        context,
    )


def _render_pair(subject: Any, body: Any, context: dict[str, str]) -> tuple[str, str]:
    return (
        mail_text.clean_line(subject.render(Context(context, autoescape=False)), 240),
        body.render(Context(context, autoescape=False)).strip() + "\n",
    )


# --- Mail to the requester: what is due ---------------------------------------------------------


def queue_requester_mail(event: TicketOpened | TicketResolved | NoteAdded) -> None:
    """The mail to the requester (and watching requesters) an event makes due: an
    acknowledgement of a new ticket, so they learn its reference and where to follow it; a
    resolution mail with the link to rate it; IT's public reply to the watchers who are
    requesters. Run by the desk's subscriber, once per event."""
    if isinstance(event, NoteAdded):
        if not event.public_reply:
            return
        comment = Comment.objects.select_related("ticket__requester").get(pk=event.comment_id)
        ticket = comment.ticket
        for user in recipients(ticket, exclude_user_id=comment.author_id):
            queue_message(ticket, MailKind.PUBLIC_REPLY, user.email, comment=comment)
        return
    ticket = Ticket.objects.select_related("requester").get(pk=event.ticket_id)
    kind = MailKind.TICKET_CREATED if isinstance(event, TicketOpened) else MailKind.TICKET_RESOLVED
    if ticket.requester.is_active and ticket.requester.email:
        queue_message(ticket, kind, ticket.requester.email)


def recipients(ticket: Ticket, *, exclude_user_id: int | None = None) -> list[User]:
    """The requester and the watchers without an IT role in the tenant (IT reads the desk),
    minus the author, anybody inactive, and anybody no longer a member of the tenant."""
    people = {ticket.requester_id: ticket.requester}
    people.update({user.pk: user for user in ticket.watchers.all()})
    chosen = []
    for user in people.values():
        if user.pk == exclude_user_id or not user.is_active or not user.email:
            continue
        accesses = resolve_principal(user).accesses_in(ticket.tenant_id)
        if not accesses:
            continue
        if user.pk != ticket.requester_id and any(a.party_id for a in accesses):
            continue
        chosen.append(user)
    return sorted(chosen, key=lambda u: u.email)


def queue_message(
    ticket: Ticket, kind: str, to_address: str, *, comment: Comment | None = None
) -> OutboundMessage:
    """Make one mail due: the row now, in the caller's transaction (and tenant scope); the
    sending once that transaction commits."""
    outbound = OutboundMessage.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        comment=comment,
        kind=kind,
        to_address=to_address[:320],
        message_id=make_msgid(domain=settings.MAIL_DOMAIN),
    )
    transaction.on_commit(functools.partial(_enqueue_send, outbound.pk), robust=True)
    return outbound


def _enqueue_send(outbound_id: int) -> None:
    send_outbound_message_task.enqueue(outbound_id)


# The task sits beside what queues it (as ``core.events.dispatch_events_task`` does): the
# desk's ``tasks`` module would import this one, which queues the task.
@task()
def send_outbound_message_task(outbound_id: int) -> str:
    """Send one due notification through SMTP and record whether it went out."""
    return send_outbound_message(outbound_id=outbound_id)


# --- Sending -----------------------------------------------------------------------------------


def send_outbound_message(*, outbound_id: int) -> str:
    """Send one due notification; returns its status. Idempotent: only a pending message is
    claimed (pending → sending) and sent, so two workers never send it twice."""
    with system_context("send a service-desk notification"):
        claimed = OutboundMessage.objects.filter(
            pk=outbound_id, status=OutboundStatus.PENDING
        ).update(status=OutboundStatus.SENDING, attempts=F("attempts") + 1)
        if not claimed:
            return "skipped"
        outbound = OutboundMessage.objects.select_related(
            "tenant", "ticket", "ticket__requester", "comment", "comment__author"
        ).get(pk=outbound_id)
        refusal = _it_recipient_refusal(outbound)
        if refusal:
            log.info("notification %s not sent: %s", outbound_id, refusal)
            return _record(outbound_id, OutboundStatus.FAILED, error=f"not sent: {refusal}")
        try:
            email = build_email(outbound)
        except Exception as exc:
            log.exception("notification %s could not be written", outbound_id)
            return _record(outbound_id, OutboundStatus.FAILED, error=f"not written: {exc}")
    try:
        email.send()
    except Exception as exc:  # noqa: BLE001 - SMTP, DNS, TLS: all are recorded the same way
        log.warning("notification %s to %s failed: %s", outbound_id, outbound.to_address, exc)
        return _record(outbound_id, OutboundStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    return _record(outbound_id, OutboundStatus.SENT, subject=str(email.subject))


def _it_recipient_refusal(outbound: OutboundMessage) -> str:
    """Why a mail to an IT person may no longer go out ("" if it may), as the app that wrote
    it says (:func:`register_it_mail`). Mail to requesters is not checked here."""
    if outbound.kind not in IT_MAIL_KINDS:
        return ""
    if _it_mail is None:
        return "no installed app words mail to IT people"
    return _it_mail.refusal(outbound)


def _record(outbound_id: int, status: str, *, error: str = "", subject: str = "") -> str:
    changes: dict[str, Any] = {"status": status, "error": error[:2000]}
    if status == OutboundStatus.SENT:
        changes.update(sent_at=timezone.now(), subject=subject[:250])
    with system_context("record a notification's delivery"):
        OutboundMessage.objects.filter(pk=outbound_id).update(**changes)
    return status


# --- Mail to IT people: worded by the app that makes it due ---------------------------------------


@dataclass(frozen=True)
class ItMail:
    """How mail to IT people (``IT_MAIL_KINDS``) is checked and worded. The notifications app
    makes that mail due (with the notice that says why) and registers this when it loads its
    subscribers: the desk sends the mail but does not know the notice.

    ``refusal(outbound)``: why it may no longer go out ("" if it may), e.g. the recipient left
    or no longer sees the ticket. ``context(outbound)``: the values of ``IT_CONTEXT_NAMES``
    (and ``author_name``/``comment_body``, always empty for IT)."""

    refusal: Callable[[OutboundMessage], str]
    context: Callable[[OutboundMessage], dict[str, str]]


_it_mail: ItMail | None = None


def register_it_mail(it_mail: ItMail) -> None:
    """Name the app that words mail to IT people (one per process; a second replaces it)."""
    global _it_mail
    _it_mail = it_mail


def build_email(outbound: OutboundMessage) -> EmailMessage:
    """The message for one due notification, with the headers threading and loop
    protection rely on."""
    ticket, tenant = outbound.ticket, outbound.tenant
    domain = settings.MAIL_DOMAIN
    reference = mail_parsing.ticket_reference(tenant.slug, ticket.number)
    reply_address = mail_parsing.desk_address(tenant.slug, domain, ticket.number)
    statuses = {key: name for key, name, _kind in desk_settings(tenant.pk).statuses}
    portal_url = settings.SITE_URL + reverse("servicedesk:portal-ticket", args=[ticket.pk])
    comment = outbound.comment
    author = ""
    if comment is not None:
        author = comment.author.full_name if comment.author else ""
        author = author or comment.author_label
    context = {
        "tenant_name": tenant.name,
        "ticket_reference": reference,
        "ticket_number": str(ticket.number),
        "ticket_subject": ticket.subject,
        "ticket_status": statuses.get(ticket.status, ticket.status),
        "requester_name": ticket.requester.full_name or ticket.requester.email,
        "author_name": author,
        "comment_body": comment.body if comment is not None else "",
        "reply_address": reply_address,
        "site_url": settings.SITE_URL,
        # The requester's page of the ticket (IT people who open it land on the full page).
        "portal_url": portal_url,
        "rating_url": portal_url + "#rating",
    } | dict.fromkeys(IT_CONTEXT_NAMES, "")
    if outbound.kind in IT_MAIL_KINDS:
        if _it_mail is None:
            raise RuntimeError("no installed app words mail to IT people")
        context |= _it_mail.context(outbound)
    subject, body = render(tenant.pk, outbound.kind, context)
    if reference.lower() not in subject.lower():
        subject = f"{reference} {subject}"  # threading must not depend on the wording
    earlier = list(
        OutboundMessage.objects.filter(
            ticket=ticket, to_address=outbound.to_address, status=OutboundStatus.SENT
        )
        .order_by("-created_at", "-id")
        .values_list("message_id", flat=True)[:10]
    )
    headers = {
        "Message-ID": outbound.message_id,
        mail_parsing.LOOP_HEADER: domain,
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if earlier:
        headers["In-Reply-To"] = earlier[0]
        headers["References"] = " ".join(reversed(earlier))
    _name, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((f"{tenant.name} Service Desk", sender or f"tandem@{domain}")),
        to=[outbound.to_address],
        reply_to=[reply_address],
        headers=headers,
    )


# --- Review ------------------------------------------------------------------------------------


def retry_outbound_message(*, actor: Principal, outbound: OutboundMessage) -> OutboundMessage:
    """Send a failed notification again (once the SMTP server is fixed, say): it becomes
    pending, keeps its Message-ID and attempt count, and is sent once this commits. Only a
    failed message can be retried; a sent one never goes out twice."""
    authorize(actor, REVIEW_MAIL, outbound)
    with transaction.atomic(), within_tenant(outbound.tenant_id):
        locked = OutboundMessage.objects.select_for_update().get(pk=outbound.pk)
        if locked.status != OutboundStatus.FAILED:
            raise Conflict(
                "Only a failed message can be sent again; "
                f"this one is {locked.get_status_display().lower()}."
            )
        error = locked.error
        locked.status, locked.error = OutboundStatus.PENDING, ""
        locked.save(update_fields=["status", "error", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.retry_outbound_message",
            target=locked,
            tenant_id=locked.tenant_id,
            changes={
                "status": [OutboundStatus.FAILED, OutboundStatus.PENDING],
                "error": [error[:500], ""],
            },
        )
        transaction.on_commit(functools.partial(_enqueue_send, locked.pk), robust=True)
    return locked

"""E-mail from the desk to requesters: which notifications are due, and sending them.

A public note from IT (and a ticket opened by e-mail) makes one :class:`OutboundMessage`
per recipient due, written inside the transaction of the write that caused it, so the fact
that a mail was due is never lost. Once that transaction commits, a task sends it through
Django's mail API (SMTP in production) and records ``sent`` or ``failed`` with the error: a
broken SMTP server never breaks the write.

Every notification carries the reference ``[acme#42]`` in its subject, ``Reply-To:
acme+42@<domain>``, its own Message-ID (stored, so the answer's In-Reply-To finds the
ticket), ``X-Tandem-Loop`` and ``Auto-Submitted: auto-generated`` (so auto-responders stay
quiet, and our own mail coming back is recognised as a loop).

Wording comes from the tenant's :class:`MailTemplate` for the kind, else from the built-in
``servicedesk/mail/<kind>.subject.txt`` / ``.body.txt``. Templates use Django's syntax
without HTML escaping, over plain strings only, and a limited set of tags.
"""

from __future__ import annotations

import functools
import logging
import re
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone

from tandem.accounts.models import User
from tandem.core.errors import InvalidInput
from tandem.core.scoping import system_context
from tandem.servicedesk import mail
from tandem.servicedesk.choices import MailKind, OutboundStatus
from tandem.servicedesk.models import Comment, MailTemplate, OutboundMessage, Ticket

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
    return {name: name.replace("_", " ") for name in CONTEXT_NAMES} | {"ticket_number": "42"}


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
        mail.clean_line(subject.render(Context(context, autoescape=False)), 240),
        body.render(Context(context, autoescape=False)).strip() + "\n",
    )


# --- What is due -------------------------------------------------------------------------------


def note_added(comment: Comment, *, public_reply: bool) -> None:
    """Queue the mail a new note makes due: a public reply from IT goes to the requester and
    to the watchers who are requesters. Called by ``services.add_comment`` inside its
    transaction (and tenant scope)."""
    if not public_reply:
        return
    ticket = comment.ticket
    for user in recipients(ticket, exclude_user_id=comment.author_id):
        _queue(ticket, MailKind.PUBLIC_REPLY, user.email, comment=comment)


def ticket_opened_by_mail(ticket: Ticket) -> None:
    """Acknowledge a ticket opened by e-mail, so the requester learns its reference."""
    if ticket.requester.is_active and ticket.requester.email:
        _queue(ticket, MailKind.TICKET_CREATED, ticket.requester.email)


def recipients(ticket: Ticket, *, exclude_user_id: int | None = None) -> list[User]:
    """The requester and the watchers without an IT role in the tenant (IT reads the desk),
    minus the author, anybody inactive, and anybody no longer a member of the tenant."""
    from tandem.accounts.principals import resolve_principal

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


def _queue(
    ticket: Ticket, kind: str, to_address: str, *, comment: Comment | None = None
) -> OutboundMessage:
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
    from tandem.servicedesk.tasks import send_outbound_message_task

    send_outbound_message_task.enqueue(outbound_id)


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


def _record(outbound_id: int, status: str, *, error: str = "", subject: str = "") -> str:
    changes: dict[str, Any] = {"status": status, "error": error[:2000]}
    if status == OutboundStatus.SENT:
        changes.update(sent_at=timezone.now(), subject=subject[:250])
    with system_context("record a notification's delivery"):
        OutboundMessage.objects.filter(pk=outbound_id).update(**changes)
    return status


def build_email(outbound: OutboundMessage) -> EmailMessage:
    """The message for one due notification, with the headers threading and loop
    protection rely on."""
    from tandem.servicedesk.sla_bridge import desk_settings

    ticket, tenant = outbound.ticket, outbound.tenant
    domain = settings.MAIL_DOMAIN
    reference = mail.ticket_reference(tenant.slug, ticket.number)
    reply_address = mail.desk_address(tenant.slug, domain, ticket.number)
    statuses = {key: name for key, name, _kind in desk_settings(tenant.pk).statuses}
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
    }
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
        mail.LOOP_HEADER: domain,
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
